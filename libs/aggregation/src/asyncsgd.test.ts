import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRule } from './create-rule';
import { stalenessConfigs } from './staleness';
import {
  assertClose,
  assertValuesClose,
  nonTrainable,
  tensors,
  trainable,
  update,
} from './test-helpers';

describe('async SGD', () => {
  test('lr=0.1 polynomial a=1, three steps', () => {
    const rule = createRule(
      { kind: 'asyncsgd', lr: 0.1, staleness: stalenessConfigs.polynomial(1), maxStaleness: 4 },
      [trainable('w', [2])],
      tensors({ w: [1, 2] })
    );
    // d = 0, s = 1: w = [1, 2] - 0.1 * [10, -10] = [0, 3]
    const first = rule.submit(update('g1', 0, { w: [10, -10] }));
    assertValuesClose(rule.weights.get('w'), [0, 3], 'after g1');
    assertClose(first.weight, 1);
    // d = 1, s = 1/2: w = [0, 3] - 0.1 * 0.5 * [4, 2] = [-0.2, 2.9]
    const second = rule.submit(update('g2', 0, { w: [4, 2] }));
    assertValuesClose(rule.weights.get('w'), [-0.2, 2.9], 'after g2');
    assertClose(second.weight, 0.5);
    // d = 0: w = [-0.2, 2.9] - 0.1 * [2, 0] = [-0.4, 2.9]
    rule.submit(update('g3', 2, { w: [2, 0] }));
    assertValuesClose(rule.weights.get('w'), [-0.4, 2.9], 'after g3');
    assert.equal(rule.version, 3);
  });

  test('non-trainable blend uses s(d)', () => {
    const rule = createRule(
      { kind: 'asyncsgd', lr: 0.1, staleness: stalenessConfigs.inverse(), maxStaleness: 4 },
      [trainable('w', [1]), nonTrainable('bn', [1])],
      tensors({ w: [0], bn: [0] })
    );
    rule.submit(update('g1', 0, { w: [0], bn: [8] }));
    // s(0) = 1: bn = 0 * 0 + 1 * 8 = 8
    assertValuesClose(rule.weights.get('bn'), [8], 'after g1');
    rule.submit(update('g2', 1, { w: [0], bn: [4] }));
    rule.submit(update('g3', 0, { w: [0], bn: [2] }));
    // g2: s(0) = 1, bn = 4; g3: d = 2, s = 1/2, bn = 0.5 * 4 + 0.5 * 2 = 3
    assertValuesClose(rule.weights.get('bn'), [3], 'after g3');
  });

  test('describe names lr', () => {
    const rule = createRule(
      { kind: 'asyncsgd', lr: 0.05, staleness: stalenessConfigs.constant(), maxStaleness: 0 },
      [trainable('w', [1])],
      tensors({ w: [0] })
    );
    assert.equal(
      rule.describe(),
      'async SGD (lr=0.05, staleness constant, maxStaleness=0, equal example weighting)'
    );
  });
});
