import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FedAsyncConfig } from './config';
import { createRule } from './create-rule';
import { stalenessConfigs } from './staleness';
import {
  assertClose,
  assertValuesClose,
  nonTrainable,
  rejectionOf,
  tensors,
  trainable,
  update,
  vectorSpec,
} from './test-helpers';

function fedAsync(overrides: Partial<FedAsyncConfig> = {}): FedAsyncConfig {
  return {
    kind: 'fedasync',
    alpha: 0.5,
    staleness: stalenessConfigs.constant(),
    maxStaleness: 10,
    ...overrides,
  };
}

describe('FedAsync delta form', () => {
  test('alpha=0.5 polynomial a=1, three steps', () => {
    const config = fedAsync({ staleness: stalenessConfigs.polynomial(1) });
    const rule = createRule(config, vectorSpec(2), tensors({ w: [1, 2] }));

    // d = 0, s = 1, weight = 0.5: w = [1, 2] - 0.5 * [2, -2] = [0, 3]
    const first = rule.submit(update('u1', 0, { w: [2, -2] }));
    assertValuesClose(rule.weights.get('w'), [0, 3], 'after u1');
    assert.deepEqual(first.applied, ['u1']);
    assert.equal(first.newVersion, true);
    assert.equal(first.staleness, 0);
    assertClose(first.weight, 0.5);
    assert.equal(rule.version, 1);

    // d = 1 - 0 = 1, s = 2^-1 = 0.5, weight = 0.25: w = [0, 3] - 0.25 * [4, 4] = [-1, 2]
    const second = rule.submit(update('u2', 0, { w: [4, 4] }));
    assertValuesClose(rule.weights.get('w'), [-1, 2], 'after u2');
    assert.equal(second.staleness, 1);
    assertClose(second.weight, 0.25);

    // d = 2 - 1 = 1, weight = 0.25: w = [-1, 2] - 0.25 * [-2, 0] = [-0.5, 2]
    rule.submit(update('u3', 1, { w: [-2, 0] }));
    assertValuesClose(rule.weights.get('w'), [-0.5, 2], 'after u3');
    assert.equal(rule.version, 3);
  });

  test('linear example weighting alpha=0.5', () => {
    const rule = createRule(
      fedAsync({ exampleWeighting: 'linear' }),
      vectorSpec(1),
      tensors({ w: [1] })
    );
    // n = 10, mean = 10 / 1 = 10, factor = 10 / 10 = 1, weight = 0.5: w = 1 - 0.5 * 2 = 0
    assertClose(rule.submit(update('u1', 0, { w: [2] }, { numExamples: 10 })).weight, 0.5);
    assertValuesClose(rule.weights.get('w'), [0]);
    // n = 30, mean = 40 / 2 = 20, factor = 30 / 20 = 1.5, weight = 0.75: w = 0 - 0.75 * 2 = -1.5
    assertClose(rule.submit(update('u2', 1, { w: [2] }, { numExamples: 30 })).weight, 0.75);
    assertValuesClose(rule.weights.get('w'), [-1.5]);
    // n = 5, mean = 45 / 3 = 15, factor = 5 / 15, weight = 0.5 / 3: w = -1.5 - 3 * 0.5 / 3 = -2
    assertClose(rule.submit(update('u3', 2, { w: [3] }, { numExamples: 5 })).weight, 0.5 / 3);
    assertValuesClose(rule.weights.get('w'), [-2]);
  });

  test('sqrt example weighting alpha=1', () => {
    const rule = createRule(
      fedAsync({ alpha: 1, exampleWeighting: 'sqrt' }),
      vectorSpec(1),
      tensors({ w: [0] })
    );
    // n = 4, mean = 4, factor = sqrt(4) / sqrt(4) = 1
    assertClose(rule.submit(update('u1', 0, { w: [1] }, { numExamples: 4 })).weight, 1);
    // n = 16, mean = 20 / 2 = 10, factor = 4 / sqrt(10) = 1.2649111
    const second = rule.submit(update('u2', 1, { w: [1] }, { numExamples: 16 }));
    assertClose(second.weight, 4 / Math.sqrt(10));
    // w = 0 - 1 - 1.2649111 = -2.2649111
    assertValuesClose(rule.weights.get('w'), [-2.2649111]);
  });

  test('log example weighting alpha=1', () => {
    const rule = createRule(
      fedAsync({ alpha: 1, exampleWeighting: 'log' }),
      vectorSpec(1),
      tensors({ w: [0] })
    );
    rule.submit(update('u1', 0, { w: [0] }, { numExamples: 1 }));
    // n = 7, mean = 8 / 2 = 4, factor = log(1 + 7) / log(1 + 4) = 2.0794415 / 1.6094379
    const second = rule.submit(update('u2', 1, { w: [1] }, { numExamples: 7 }));
    assertClose(second.weight, Math.log(8) / Math.log(5));
    assertClose(second.weight, 1.2920297);
  });

  test('clip maxNorm=1 scales delta [3, 4]', () => {
    const rule = createRule(
      fedAsync({ alpha: 1, clip: { maxNorm: 1 } }),
      vectorSpec(2),
      tensors({ w: [0, 0] })
    );
    // |[3, 4]| = 5, scale = 1 / 5: w = [0, 0] - [0.6, 0.8]
    rule.submit(update('u1', 0, { w: [3, 4] }));
    assertValuesClose(rule.weights.get('w'), [-0.6, -0.8]);
  });

  test('non-trainable tensors blend towards worker values', () => {
    const spec = [trainable('w', [1]), nonTrainable('bn', [2])];
    const config = fedAsync({ staleness: stalenessConfigs.polynomial(1) });
    const rule = createRule(config, spec, tensors({ w: [1], bn: [0, 10] }));
    // weight 0.5: bn = 0.5 * [0, 10] + 0.5 * [4, 2] = [2, 6]; w = 1 - 0.5 * 2 = 0
    rule.submit(update('u1', 0, { w: [2], bn: [4, 2] }));
    assertValuesClose(rule.weights.get('bn'), [2, 6], 'bn after u1');
    assertValuesClose(rule.weights.get('w'), [0], 'w after u1');
    // d = 1, weight 0.25: bn = 0.75 * [2, 6] + 0.25 * [10, 2] = [4, 5]
    rule.submit(update('u2', 0, { w: [0], bn: [10, 2] }));
    assertValuesClose(rule.weights.get('bn'), [4, 5], 'bn after u2');
  });

  test('describe names delta form and alpha', () => {
    const rule = createRule(
      fedAsync({ alpha: 0.6, staleness: stalenessConfigs.polynomial(0.5), maxStaleness: 8 }),
      vectorSpec(1),
      tensors({ w: [0] })
    );
    assert.equal(
      rule.describe(),
      'FedAsync (delta form, alpha=0.6, staleness polynomial a=0.5, maxStaleness=8, equal example weighting)'
    );
    assert.deepEqual(rule.pending(), []);
  });

  test('startVersion=5 sets the version', () => {
    const rule = createRule(fedAsync(), vectorSpec(1), tensors({ w: [0] }), 5);
    assert.equal(rule.version, 5);
    assert.equal(rule.submit(update('u1', 5, { w: [1] })).staleness, 0);
    assert.equal(rule.version, 6);
  });
});

describe('FedAsync mixing form', () => {
  test('alpha=0.5 constant window=3, three steps', () => {
    const rule = createRule(
      fedAsync({ form: 'mixing', window: 3 }),
      vectorSpec(2),
      tensors({ w: [1, 2] })
    );
    // local = w0 - delta = [1, 2] - [2, -2] = [-1, 4]; w = 0.5 * [1, 2] + 0.5 * [-1, 4] = [0, 3]
    rule.submit(update('u1', 0, { w: [2, -2] }));
    assertValuesClose(rule.weights.get('w'), [0, 3], 'after u1');
    // local = w0 - [1, 0] = [0, 2]; w = 0.5 * [0, 3] + 0.5 * [0, 2] = [0, 2.5]
    // (the delta form would give [0, 3] - 0.5 * [1, 0] = [-0.5, 3])
    rule.submit(update('u2', 0, { w: [1, 0] }));
    assertValuesClose(rule.weights.get('w'), [0, 2.5], 'after u2');
    // local = w1 - [-2, 1] = [2, 2]; w = 0.5 * [0, 2.5] + 0.5 * [2, 2] = [1, 2.25]
    rule.submit(update('u3', 1, { w: [-2, 1] }));
    assertValuesClose(rule.weights.get('w'), [1, 2.25], 'after u3');
    assert.equal(rule.version, 3);
  });

  test('window=3 evicts version 0 at version 3', () => {
    const rule = createRule(
      fedAsync({ form: 'mixing', window: 3 }),
      vectorSpec(1),
      tensors({ w: [0] })
    );
    for (let i = 0; i < 3; i++) rule.submit(update(`u${i}`, i, { w: [1] }));
    const before = Float32Array.from(rule.weights.get('w') ?? []);
    const admission = rule.admit(update('late', 0, { w: [1] }));
    const rejection = rejectionOf(admission);
    assert.equal(rejection.reason, 'window_evicted');
    assert.equal(
      rejection.detail,
      'baseVersion 0 has left the window of kept versions 1..3 (window 3)'
    );
    assert.throws(() => rule.submit(update('late', 0, { w: [1] })), {
      name: 'UpdateRejectedError',
      code: 'FL_AGG_UPDATE_REJECTED',
      reason: 'window_evicted',
    });
    assert.deepEqual(rule.weights.get('w'), before);
    assert.equal(rule.admit(update('kept', 1, { w: [1] })).ok, true);
  });

  test('staleness 0 matches the delta form', () => {
    const mixing = createRule(fedAsync({ form: 'mixing' }), vectorSpec(2), tensors({ w: [1, 2] }));
    const delta = createRule(fedAsync(), vectorSpec(2), tensors({ w: [1, 2] }));
    mixing.submit(update('u1', 0, { w: [0.5, -3] }));
    delta.submit(update('u1', 0, { w: [0.5, -3] }));
    assertValuesClose(mixing.weights.get('w'), [...(delta.weights.get('w') ?? [])]);
  });

  test('describe names mixing form and window', () => {
    const rule = createRule(
      fedAsync({ form: 'mixing', maxStaleness: 4 }),
      vectorSpec(1),
      tensors({ w: [0] })
    );
    // default window = min(maxStaleness + 1, 16) = 5
    assert.match(rule.describe(), /^FedAsync \(mixing form, alpha=0\.5, window=5, /);
  });
});
