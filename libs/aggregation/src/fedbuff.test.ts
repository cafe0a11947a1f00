import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FedBuffConfig, OptimizerConfig } from './config';
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
import type { AggregationRule } from './types';

function fedBuff(overrides: Partial<FedBuffConfig> = {}): FedBuffConfig {
  return {
    kind: 'fedbuff',
    bufferSize: 2,
    serverLr: 1,
    staleness: stalenessConfigs.constant(),
    maxStaleness: 10,
    ...overrides,
  };
}

/**
 * Runs three flushes of K = 2 from w0 = [1, 1] and returns the weights after each. The buffer
 * means are g1 = ([2, 0] + [0, 4]) / 2 = [1, 2], g2 = ([2, 2] + [0, -2]) / 2 = [1, 0] and
 * g3 = ([-2, 2] + [0, 2]) / 2 = [-1, 2].
 */
function threeFlushes(optimizer: OptimizerConfig, serverLr: number): number[][] {
  const rule = createRule(fedBuff({ optimizer, serverLr }), vectorSpec(2), tensors({ w: [1, 1] }));
  const buffers = [
    [
      [2, 0],
      [0, 4],
    ],
    [
      [2, 2],
      [0, -2],
    ],
    [
      [-2, 2],
      [0, 2],
    ],
  ];
  const history: number[][] = [];
  buffers.forEach((deltas, flush) => {
    deltas.forEach((delta, i) => rule.submit(update(`f${flush}-${i}`, flush, { w: delta })));
    assert.equal(rule.version, flush + 1);
    history.push([...(rule.weights.get('w') ?? [])]);
  });
  return history;
}

function assertHistory(actual: number[][], expected: number[][]): void {
  expected.forEach((values, flush) => {
    assertValuesClose(Float32Array.from(actual[flush] ?? []), values, `after flush ${flush + 1}`);
  });
}

describe('FedBuff server optimizers', () => {
  test('sgd serverLr=0.5', () => {
    // w1 = [1, 1] - 0.5 * [1, 2] = [0.5, 0]
    // w2 = [0.5, 0] - 0.5 * [1, 0] = [0, 0]
    // w3 = [0, 0] - 0.5 * [-1, 2] = [0.5, -1]
    assertHistory(threeFlushes({ kind: 'sgd' }, 0.5), [
      [0.5, 0],
      [0, 0],
      [0.5, -1],
    ]);
  });

  test('momentum mu=0.9 serverLr=0.5', () => {
    // b1 = [1, 2];                                  w1 = [1, 1] - 0.5 * b1 = [0.5, 0]
    // b2 = 0.9 * [1, 2] + [1, 0] = [1.9, 1.8];      w2 = [0.5, 0] - 0.5 * b2 = [-0.45, -0.9]
    // b3 = 0.9 * [1.9, 1.8] + [-1, 2] = [0.71, 3.62]; w3 = w2 - 0.5 * b3 = [-0.805, -2.71]
    assertHistory(threeFlushes({ kind: 'momentum', momentum: 0.9 }, 0.5), [
      [0.5, 0],
      [-0.45, -0.9],
      [-0.805, -2.71],
    ]);
  });

  test('momentum mu=0.9 nesterov serverLr=0.5', () => {
    // step = g + 0.9 b with b as in the heavy-ball case:
    // step1 = [1, 2] + 0.9 * [1, 2] = [1.9, 3.8];       w1 = [1, 1] - 0.5 * step1 = [0.05, -0.9]
    // step2 = [1, 0] + 0.9 * [1.9, 1.8] = [2.71, 1.62]; w2 = w1 - 0.5 * step2 = [-1.305, -1.71]
    // step3 = [-1, 2] + 0.9 * [0.71, 3.62] = [-0.361, 5.258]
    // w3 = w2 - 0.5 * step3 = [-1.1245, -4.339]
    assertHistory(threeFlushes({ kind: 'momentum', momentum: 0.9, nesterov: true }, 0.5), [
      [0.05, -0.9],
      [-1.305, -1.71],
      [-1.1245, -4.339],
    ]);
  });

  test('adam beta1=0.5 beta2=0.5 tau=1 v0=0', () => {
    const optimizer: OptimizerConfig = {
      kind: 'adam',
      beta1: 0.5,
      beta2: 0.5,
      tau: 1,
      initialAccumulator: 0,
    };
    // m1 = 0.5 * [1, 2] = [0.5, 1]; v1 = 0.5 * [1, 4] = [0.5, 2]
    // w1 = [1, 1] - [0.5 / (sqrt(0.5) + 1), 1 / (sqrt(2) + 1)] = 1 - [0.2928932, 0.4142136]
    // m2 = [0.25 + 0.5, 0.5 + 0] = [0.75, 0.5]; v2 = [0.25 + 0.5, 1 + 0] = [0.75, 1]
    // w2 = w1 - [0.75 / (sqrt(0.75) + 1), 0.5 / 2] = w1 - [0.4019238, 0.25]
    // m3 = [0.375 - 0.5, 0.25 + 1] = [-0.125, 1.25]; v3 = [0.375 + 0.5, 0.5 + 2] = [0.875, 2.5]
    // w3 = w2 - [-0.125 / (sqrt(0.875) + 1), 1.25 / (sqrt(2.5) + 1)] = w2 - [-0.0645857, 0.4842824]
    assertHistory(threeFlushes(optimizer, 1), [
      [0.7071068, 0.5857864],
      [0.305183, 0.3357864],
      [0.3697686, -0.1484959],
    ]);
  });

  test('adam defaults beta1=0.9 beta2=0.99 tau=1e-3', () => {
    // m = 0.1 * [1, 2] = [0.1, 0.2]; v = 0.99 * 1e-6 + 0.01 * [1, 4] = [0.01000099, 0.04000099]
    // step = [0.1 / (0.1000049 + 0.001), 0.2 / (0.2000025 + 0.001)] = [0.9900505, 0.9950127]
    const history = threeFlushes({ kind: 'adam' }, 1);
    assertValuesClose(Float32Array.from(history[0] ?? []), [1 - 0.9900505, 1 - 0.9950127]);
  });

  test('yogi beta1=0.5 beta2=0.5 tau=1 v0=0', () => {
    const optimizer: OptimizerConfig = {
      kind: 'yogi',
      beta1: 0.5,
      beta2: 0.5,
      tau: 1,
      initialAccumulator: 0,
    };
    // v1 = 0 - 0.5 * [1, 4] * sign(0 - [1, 4]) = [0.5, 2]; m1 = [0.5, 1]; w1 equals adam's w1
    // v2 = [0.5, 2] - 0.5 * [1, 0] * sign([0.5 - 1, 2 - 0]) = [1, 2]; m2 = [0.75, 0.5]
    // w2 = w1 - [0.75 / (1 + 1), 0.5 / (sqrt(2) + 1)] = w1 - [0.375, 0.2071068]
    // v3 = [1, 2] - 0.5 * [1, 4] * sign([1 - 1, 2 - 4]) = [1, 4]; m3 = [-0.125, 1.25]
    // w3 = w2 - [-0.125 / 2, 1.25 / 3] = w2 - [-0.0625, 0.4166667]
    assertHistory(threeFlushes(optimizer, 1), [
      [0.7071068, 0.5857864],
      [0.3321068, 0.3786797],
      [0.3946068, -0.037987],
    ]);
  });

  test('adagrad beta1=0 tau=1 v0=0', () => {
    const optimizer: OptimizerConfig = { kind: 'adagrad', tau: 1, initialAccumulator: 0 };
    // v1 = [1, 4];  w1 = [1, 1] - [1 / (1 + 1), 2 / (2 + 1)] = [0.5, 0.3333333]
    // v2 = [2, 4];  w2 = w1 - [1 / (sqrt(2) + 1), 0] = [0.0857864, 0.3333333]
    // v3 = [3, 8];  w3 = w2 - [-1 / (sqrt(3) + 1), 2 / (sqrt(8) + 1)] = w2 - [-0.3660254, 0.5224077]
    assertHistory(threeFlushes(optimizer, 1), [
      [0.5, 0.3333333],
      [0.0857864, 0.3333333],
      [0.4518118, -0.1890744],
    ]);
  });

  test('adagrad beta1=0.5 tau=1 v0=0', () => {
    const optimizer: OptimizerConfig = {
      kind: 'adagrad',
      beta1: 0.5,
      tau: 1,
      initialAccumulator: 0,
    };
    // m1 = [0.5, 1], v1 = [1, 4]; w1 = [1, 1] - [0.5 / 2, 1 / 3] = [0.75, 0.6666667]
    // m2 = [0.75, 0.5], v2 = [2, 4]; w2 = w1 - [0.75 / (sqrt(2) + 1), 0.5 / 3] = [0.4393398, 0.5]
    assertHistory(threeFlushes(optimizer, 1).slice(0, 2), [
      [0.75, 0.6666667],
      [0.4393398, 0.5],
    ]);
  });
});

describe('FedBuff buffering', () => {
  test('K=2 buffers, then flushes in id order', () => {
    const rule = createRule(fedBuff(), vectorSpec(1), tensors({ w: [0] }));
    const first = rule.submit(update('b', 0, { w: [1] }));
    assert.deepEqual(first.applied, []);
    assert.equal(first.newVersion, false);
    assert.deepEqual(rule.pending(), ['b']);
    assert.equal(rule.version, 0);
    assertValuesClose(rule.weights.get('w'), [0], 'before the flush');

    const second = rule.submit(update('a', 0, { w: [3] }));
    assert.deepEqual(second.applied, ['a', 'b']);
    assert.deepEqual(second.appliedWeights, [1, 1]);
    assert.equal(second.newVersion, true);
    assert.deepEqual(rule.pending(), []);
    assert.equal(rule.version, 1);
    // w = 0 - 1 * (1 + 3) / 2 = -2
    assertValuesClose(rule.weights.get('w'), [-2], 'after the flush');
  });

  test('polynomial a=1 with linear example weighting', () => {
    const config = fedBuff({
      staleness: stalenessConfigs.polynomial(1),
      exampleWeighting: 'linear',
    });
    const rule = createRule(config, vectorSpec(1), tensors({ w: [0] }));

    // Provisional weight of a: mean = 1 / 1 = 1, factor = 1 / 1 = 1.
    assertClose(rule.submit(update('a', 0, { w: [2] }, { numExamples: 1 })).weight, 1);
    // Flush: mean = (1 + 3) / 2 = 2, factors a = 1 / 2, b = 3 / 2, s = 1 for both.
    const flush1 = rule.submit(update('b', 0, { w: [2] }, { numExamples: 3 }));
    assertClose(flush1.weight, 1.5);
    assert.deepEqual(flush1.appliedWeights, [0.5, 1.5]);
    // w1 = 0 - (0.5 * 2 + 1.5 * 2) / 2 = -2
    assertValuesClose(rule.weights.get('w'), [-2], 'after flush 1');

    // c: d = 1, s = 1/2; d: d = 0, s = 1. Mean = (4 + 2 + 2) / 4 = 2, both factors 2 / 2 = 1.
    rule.submit(update('d', 1, { w: [1] }, { numExamples: 2 }));
    const flush2 = rule.submit(update('c', 0, { w: [4] }, { numExamples: 2 }));
    assert.deepEqual(flush2.applied, ['c', 'd']);
    assert.deepEqual(flush2.appliedWeights, [0.5, 1]);
    // w2 = -2 - (0.5 * 4 + 1 * 1) / 2 = -3.5
    assertValuesClose(rule.weights.get('w'), [-3.5], 'after flush 2');
  });

  test('non-trainable tensors take the weighted buffer mean', () => {
    const spec = [trainable('w', [1]), nonTrainable('bn', [2])];
    const config = fedBuff({ staleness: stalenessConfigs.polynomial(1) });
    const rule = createRule(config, spec, tensors({ w: [0], bn: [0, 10] }));
    // Weights 1 and 1: beta = clamp(2 / 2) = 1, bn = mean([4, 2], [2, 6]) = [3, 4]
    rule.submit(update('a', 0, { w: [0], bn: [4, 2] }));
    rule.submit(update('b', 0, { w: [0], bn: [2, 6] }));
    assertValuesClose(rule.weights.get('bn'), [3, 4], 'bn after flush 1');
    // Both stale by 1, weights 0.5 each: beta = 1 / 2, vbar = [5, 2]
    // bn = 0.5 * [3, 4] + 0.5 * [5, 2] = [4, 3]
    rule.submit(update('c', 0, { w: [0], bn: [6, 0] }));
    rule.submit(update('d', 0, { w: [0], bn: [4, 4] }));
    assertValuesClose(rule.weights.get('bn'), [4, 3], 'bn after flush 2');
    assertValuesClose(rule.weights.get('w'), [0], 'w is unchanged by zero deltas');
  });

  test('duplicate id in one buffer rejected', () => {
    const rule = createRule(fedBuff({ bufferSize: 3 }), vectorSpec(1), tensors({ w: [0] }));
    rule.submit(update('a', 0, { w: [1] }));
    const admission = rule.admit(update('a', 0, { w: [2] }));
    assert.equal(rejectionOf(admission).reason, 'duplicate_update');
  });

  test('describe names K, optimizer and aggregator', () => {
    const rule = createRule(
      fedBuff({ optimizer: { kind: 'adam' }, staleness: stalenessConfigs.fedbuff() }),
      vectorSpec(1),
      tensors({ w: [0] })
    );
    assert.equal(
      rule.describe(),
      'FedBuff (K=2, serverLr=1, adam beta1=0.9 beta2=0.99 tau=0.001, buffer mean, staleness fedbuff 1/sqrt(1+d), maxStaleness=10, equal example weighting)'
    );
  });
});

describe('FedBuff robust options', () => {
  test('clip maxNorm=1 bounds a delta scaled by 1e6', () => {
    const rule = createRule(
      fedBuff({ clip: { maxNorm: 1 } }),
      vectorSpec(2),
      tensors({ w: [0, 0] })
    );
    rule.submit(update('honest', 0, { w: [0.6, 0.8] }));
    rule.submit(update('attacker', 0, { w: [0.6e6, 0.8e6] }));
    // Both clip to [0.6, 0.8] (norm 1): w = [0, 0] - ([0.6, 0.8] + [0.6, 0.8]) / 2
    assertValuesClose(rule.weights.get('w'), [-0.6, -0.8]);
  });

  test('clip maxNorm=1 moves w by at most serverLr * maxNorm', () => {
    const rule = createRule(
      fedBuff({ bufferSize: 4, serverLr: 0.5, clip: { maxNorm: 1 } }),
      vectorSpec(3),
      tensors({ w: [1, 2, 3] })
    );
    for (let i = 0; i < 4; i++) rule.submit(update(`a${i}`, 0, { w: [1e6 * (i + 1), -3e6, 5e5] }));
    const w = rule.weights.get('w') ?? new Float32Array(3);
    const moved = Math.hypot((w[0] as number) - 1, (w[1] as number) - 2, (w[2] as number) - 3);
    // Each clipped delta has norm 1, so the mean of four has norm <= 1 and the step <= 0.5.
    assert.ok(moved <= 0.5 + 1e-6, `moved ${moved}`);
  });

  test('median K=3', () => {
    const rule = createRule(
      fedBuff({ bufferSize: 3, aggregator: { kind: 'median' } }),
      vectorSpec(2),
      tensors({ w: [0, 0] })
    );
    rule.submit(update('a', 0, { w: [1, 10] }));
    rule.submit(update('b', 0, { w: [2, -5] }));
    rule.submit(update('c', 0, { w: [100, 0] }));
    // medians: [1, 2, 100] -> 2, [-5, 0, 10] -> 0
    assertValuesClose(rule.weights.get('w'), [-2, 0]);
  });

  test('trimmed mean beta=0.25 K=4', () => {
    const rule = createRule(
      fedBuff({ bufferSize: 4, aggregator: { kind: 'trimmedMean', beta: 0.25 } }),
      vectorSpec(2),
      tensors({ w: [0, 0] })
    );
    for (const [id, delta] of [
      ['a', [1, 10]],
      ['b', [2, -5]],
      ['c', [100, 0]],
      ['d', [3, 1]],
    ] as const) {
      rule.submit(update(id, 0, { w: delta }));
    }
    // floor(0.25 * 4) = 1 value trimmed per end:
    // [1, 2, 3, 100] -> (2 + 3) / 2 = 2.5 and [-5, 0, 1, 10] -> (0 + 1) / 2 = 0.5
    assertValuesClose(rule.weights.get('w'), [-2.5, -0.5]);
  });

  test('norm outlier maxRatio=3 minSamples=2', () => {
    const config = fedBuff({
      bufferSize: 4,
      normOutlier: { maxRatio: 3, window: 4, minSamples: 2 },
    });
    const rule: AggregationRule = createRule(config, vectorSpec(2), tensors({ w: [0, 0] }));
    rule.submit(update('a', 0, { w: [1, 0] }));
    // One norm recorded, below minSamples = 2: no check yet.
    assert.equal(rule.admit(update('x', 0, { w: [40, 0] })).ok, true);
    rule.submit(update('b', 0, { w: [0, 1] }));
    // median norm 1: a norm of 4 > 3 * 1 is an outlier, a norm of 3 is not
    const outlier = rule.admit(update('c', 0, { w: [4, 0] }));
    assert.equal(rejectionOf(outlier).reason, 'norm_outlier');
    assert.equal(rule.admit(update('c', 0, { w: [3, 0] })).ok, true);
  });
});
