import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FedAsyncConfig } from './config';
import { createRule } from './create-rule';
import { REJECT_REASONS, type RejectReason } from './reasons';
import { stalenessConfigs } from './staleness';
import { nonTrainable, tensors, trainable, update } from './test-helpers';
import type { AggregationRule, UpdateInput } from './types';

const SPEC = [trainable('w', [2]), nonTrainable('bn', [1])];

function fedAsync(overrides: Partial<FedAsyncConfig> = {}): AggregationRule {
  const config: FedAsyncConfig = {
    kind: 'fedasync',
    alpha: 0.5,
    staleness: stalenessConfigs.constant(),
    maxStaleness: 2,
    ...overrides,
  };
  return createRule(config, SPEC, tensors({ w: [0, 0], bn: [0] }));
}

function valid(id: string, baseVersion: number, w: readonly number[] = [1, 1]): UpdateInput {
  return update(id, baseVersion, { w, bn: [1] });
}

/** Asserts that admit and submit both reject with `reason` and returns the admission detail. */
function assertRejected(rule: AggregationRule, input: UpdateInput, reason: RejectReason): string {
  const admission = rule.admit(input);
  assert.equal(admission.ok, false, `expected rejection ${reason}`);
  assert.ok(!admission.ok);
  assert.equal(admission.reason, reason, admission.detail);
  assert.throws(() => rule.submit(input), { name: 'UpdateRejectedError', reason });
  return admission.detail;
}

describe('admission', () => {
  test('valid update admitted with staleness', () => {
    const rule = fedAsync();
    rule.submit(valid('u1', 0));
    assert.deepEqual(rule.admit(valid('u2', 0)), { ok: true, staleness: 1 });
  });

  test('future_base_version', () => {
    const detail = assertRejected(fedAsync(), valid('u1', 1), 'future_base_version');
    assert.equal(detail, 'baseVersion 1 is ahead of the current version 0');
  });

  test('too_stale maxStaleness=2', () => {
    const rule = fedAsync();
    for (let i = 0; i < 3; i++) rule.submit(valid(`u${i}`, i));
    // version 3: d = 3 - 0 = 3 > 2, while d = 3 - 1 = 2 is admitted
    const detail = assertRejected(rule, valid('late', 0), 'too_stale');
    assert.equal(detail, 'staleness 3 (version 3 - baseVersion 0) exceeds maxStaleness 2');
    assert.equal(rule.admit(valid('ok', 1)).ok, true);
  });

  test('window_evicted mixing window=1', () => {
    const rule = fedAsync({ form: 'mixing', window: 1 });
    rule.submit(valid('u1', 0));
    assertRejected(rule, valid('u2', 0), 'window_evicted');
  });

  test('unknown_tensor', () => {
    const input = update('u1', 0, { w: [1, 1], bn: [1], extra: [1] });
    const detail = assertRejected(fedAsync(), input, 'unknown_tensor');
    assert.equal(detail, 'tensor "extra" is not in the model spec');
  });

  test('missing_tensor', () => {
    const detail = assertRejected(fedAsync(), update('u1', 0, { w: [1, 1] }), 'missing_tensor');
    assert.equal(detail, "tensor 'bn' is missing");
  });

  test('wrong_shape', () => {
    const input = update('u1', 0, { w: [1, 1, 1], bn: [1] });
    const detail = assertRejected(fedAsync(), input, 'wrong_shape');
    assert.equal(detail, "tensor 'w' has 3 elements, expected 2 (shape [2])");
  });

  test('non_finite NaN in trainable', () => {
    const detail = assertRejected(fedAsync(), valid('u1', 0, [1, Number.NaN]), 'non_finite');
    assert.equal(detail, "tensor 'w' has NaN at element 1");
  });

  test('non_finite Infinity in non-trainable', () => {
    const input = update('u1', 0, { w: [1, 1], bn: [-Infinity] });
    const detail = assertRejected(fedAsync(), input, 'non_finite');
    assert.equal(detail, "tensor 'bn' has -Infinity at element 0");
  });

  test('malformed_update fields', () => {
    const rule = fedAsync({ exampleWeighting: 'linear' });
    const cases: [UpdateInput, string][] = [
      [{ ...valid('', 0) }, 'id must be a non-empty string (got "")'],
      [{ ...valid('u1', 0), rank: -1 }, 'rank must be a non-negative integer (got -1)'],
      [
        { ...valid('u1', 0), baseVersion: 0.5 },
        'baseVersion must be a non-negative integer (got 0.5)',
      ],
      [
        { ...valid('u1', 0), numExamples: Number.NaN },
        'numExamples must be a non-negative integer (got NaN)',
      ],
      [
        { ...valid('u1', 0), numExamples: 0 },
        "numExamples must be > 0 under 'linear' example weighting (got 0), because the update would carry no weight",
      ],
    ];
    for (const [input, expected] of cases) {
      assert.equal(assertRejected(rule, input, 'malformed_update'), expected);
    }
  });

  test('malformed_update tensor not Float32Array', () => {
    const input = valid('u1', 0);
    (input.tensors as Map<string, unknown>).set('w', [1, 1]);
    const detail = assertRejected(fedAsync(), input, 'malformed_update');
    assert.equal(detail, "tensor 'w' must be a Float32Array (got [1,1])");
  });

  test('numExamples=0 admitted under equal weighting', () => {
    assert.equal(fedAsync().admit({ ...valid('u1', 0), numExamples: 0 }).ok, true);
  });

  test('rank_share_exceeded maxShare=0.5 window=4', () => {
    const rule = fedAsync({ maxStaleness: 10, rankShare: { maxShare: 0.5, window: 4 } });
    // Weights are all alpha * s = 0.5. The cap starts after window - 1 = 3 records.
    for (const rank of [0, 1, 2, 0]) {
      rule.submit({ ...valid(`r${rank}-${rule.version}`, rule.version), rank });
    }
    // Last 3 ranks [1, 2, 0]; rank 0: (0.5 + 0.5) / (1.5 + 0.5) = 0.5, allowed
    rule.submit({ ...valid('r0-again', rule.version), rank: 0 });
    // Last 3 ranks [2, 0, 0]; rank 0: (1 + 0.5) / (1.5 + 0.5) = 0.75 > 0.5
    const detail = assertRejected(
      rule,
      { ...valid('r0-third', rule.version), rank: 0 },
      'rank_share_exceeded'
    );
    assert.equal(
      detail,
      'rank 0 would hold 75.00% of the weight of the last 4 accepted updates (maxShare 0.5)'
    );
    // rank 1: (0 + 0.5) / 2 = 0.25
    assert.equal(rule.admit({ ...valid('r1', rule.version), rank: 1 }).ok, true);
  });

  test('norm_outlier maxRatio=2 minSamples=1', () => {
    const rule = fedAsync({
      maxStaleness: 10,
      normOutlier: { maxRatio: 2, window: 3, minSamples: 1 },
    });
    rule.submit(valid('u1', 0, [3, 4]));
    // median norm 5: a norm of 10 passes, a norm of 10.000001 is rejected
    assert.equal(rule.admit(valid('u2', 1, [6, 8])).ok, true);
    const detail = assertRejected(rule, valid('u3', 1, [0, 10.00001]), 'norm_outlier');
    assert.match(detail, /^delta L2 norm 10\.0000\d* exceeds maxRatio 2 times the median 5\.00000/);
  });

  test('reason list covers every code', () => {
    assert.deepEqual([...REJECT_REASONS].sort(), [
      'duplicate_update',
      'future_base_version',
      'malformed_update',
      'missing_tensor',
      'non_finite',
      'norm_outlier',
      'rank_share_exceeded',
      'too_stale',
      'unknown_tensor',
      'window_evicted',
      'wrong_shape',
    ]);
  });
});
