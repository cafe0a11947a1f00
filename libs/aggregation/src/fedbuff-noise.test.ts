import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createSeededGaussianNoise, type GaussianNoise } from '@asyncfl/privacy';
import type { FedBuffConfig } from './config';
import { createRule } from './create-rule';
import { InvalidOptionError } from './errors';
import { stalenessConfigs } from './staleness';
import {
  assertValuesClose,
  nonTrainable,
  tensors,
  trainable,
  update,
  vectorSpec,
} from './test-helpers';

function noisyFedBuff(overrides: Partial<FedBuffConfig> = {}): FedBuffConfig {
  return {
    kind: 'fedbuff',
    bufferSize: 2,
    serverLr: 1,
    staleness: stalenessConfigs.constant(),
    maxStaleness: 10,
    clip: { maxNorm: 1 },
    noise: { noiseMultiplier: 1 },
    ...overrides,
  };
}

/** Noise source that records its calls and adds nothing. */
class RecordingNoise implements GaussianNoise {
  readonly calls: { length: number; standardDeviation: number }[] = [];
  addTo(values: Float32Array | Float64Array, standardDeviation: number): void {
    this.calls.push({ length: values.length, standardDeviation });
  }
}

describe('FedBuff user-level noise', () => {
  test('noise std is sigma C / K in the step', () => {
    const size = 40_000;
    const rule = createRule(
      noisyFedBuff({ bufferSize: 4, clip: { maxNorm: 0.5 }, noise: { noiseMultiplier: 1.2 } }),
      vectorSpec(size),
      tensors({ w: new Array<number>(size).fill(0) }),
      0,
      { noise: createSeededGaussianNoise(5) }
    );
    const zero = new Array<number>(size).fill(0);
    for (let i = 0; i < 4; i++) rule.submit(update(`u${i}`, 0, { w: zero }, { rank: i }));
    const w = rule.weights.get('w')!;
    let sum = 0;
    let squares = 0;
    for (const value of w) {
      sum += value;
      squares += value * value;
    }
    const mean = sum / size;
    const std = Math.sqrt(squares / size - mean * mean);
    const expected = (1.2 * 0.5) / 4;
    assert.ok(Math.abs(std / expected - 1) < 0.05, `std ${std}, expected ${expected}`);
    assert.ok(Math.abs(mean) < (4 * expected) / Math.sqrt(size), `mean ${mean}`);
  });

  test('adds noise once per flush and not while buffering', () => {
    const recording = new RecordingNoise();
    const spec = [trainable('a', [3]), trainable('b', [2, 2])];
    const rule = createRule(
      noisyFedBuff({ clip: { maxNorm: 2 }, noise: { noiseMultiplier: 0.5 } }),
      spec,
      tensors({ a: [0, 0, 0], b: [0, 0, 0, 0] }),
      0,
      { noise: recording }
    );
    const values = { a: [1, 0, 0], b: [0, 0, 0, 0] };
    rule.submit(update('u1', 0, values, { rank: 1 }));
    assert.equal(recording.calls.length, 0);
    rule.submit(update('u2', 0, values, { rank: 2 }));
    assert.deepEqual(recording.calls, [
      { length: 3, standardDeviation: 1 },
      { length: 4, standardDeviation: 1 },
    ]);
    rule.submit(update('u3', 1, values, { rank: 1 }));
    rule.submit(update('u4', 1, values, { rank: 2 }));
    assert.equal(recording.calls.length, 4);
  });

  test('adds the draws to the sum before dividing by K', () => {
    const rule = createRule(
      noisyFedBuff({ serverLr: 0.5 }),
      vectorSpec(3),
      tensors({ w: [1, 1, 1] }),
      0,
      {
        noise: createSeededGaussianNoise(9),
      }
    );
    rule.submit(update('u1', 0, { w: [0.5, 0, 0] }, { rank: 1 }));
    rule.submit(update('u2', 0, { w: [0, 0.5, 0] }, { rank: 2 }));
    // The same draws as the rule's: one addTo on the three summed coordinates.
    const draws = new Float64Array(3);
    createSeededGaussianNoise(9).addTo(draws, 1);
    const expected = [0.5, 0.5, 0].map((sum, e) => 1 - (0.5 * (sum + draws[e]!)) / 2);
    assertValuesClose(rule.weights.get('w'), expected);
  });

  test('without draws the step is the mean of clipped deltas', () => {
    const rule = createRule(noisyFedBuff(), vectorSpec(2), tensors({ w: [0, 0] }), 0, {
      noise: new RecordingNoise(),
    });
    // Norm 5 clips to norm 1: [3, 4] contributes [0.6, 0.8].
    rule.submit(update('u1', 0, { w: [3, 4] }, { rank: 1 }));
    rule.submit(update('u2', 0, { w: [0, 0.5] }, { rank: 2 }));
    assertValuesClose(rule.weights.get('w'), [-0.3, -0.65]);
  });

  test('bounds the sum of one rank to C', () => {
    const sameRank = createRule(noisyFedBuff(), vectorSpec(2), tensors({ w: [0, 0] }), 0, {
      noise: new RecordingNoise(),
    });
    sameRank.submit(update('u1', 0, { w: [0.6, 0.8] }, { rank: 3 }));
    sameRank.submit(update('u2', 0, { w: [0.6, 0.8] }, { rank: 3 }));
    // The sum [1.2, 1.6] has norm 2 and is scaled to norm 1, then divided by K = 2.
    assertValuesClose(sameRank.weights.get('w'), [-0.3, -0.4]);

    const twoRanks = createRule(noisyFedBuff(), vectorSpec(2), tensors({ w: [0, 0] }), 0, {
      noise: new RecordingNoise(),
    });
    twoRanks.submit(update('u1', 0, { w: [0.6, 0.8] }, { rank: 3 }));
    twoRanks.submit(update('u2', 0, { w: [0.6, 0.8] }, { rank: 4 }));
    assertValuesClose(twoRanks.weights.get('w'), [-0.6, -0.8]);
  });

  test('keeps a rank sum below C unchanged', () => {
    const rule = createRule(noisyFedBuff(), vectorSpec(2), tensors({ w: [0, 0] }), 0, {
      noise: new RecordingNoise(),
    });
    rule.submit(update('u1', 0, { w: [0.3, 0] }, { rank: 3 }));
    rule.submit(update('u2', 0, { w: [-0.3, 0.4] }, { rank: 3 }));
    assertValuesClose(rule.weights.get('w'), [0, -0.2]);
  });

  test('names the noise in describe', () => {
    const rule = createRule(noisyFedBuff(), vectorSpec(1), tensors({ w: [0] }));
    assert.match(rule.describe(), /Gaussian noise multiplier 1 per flush/);
  });

  test('rejects settings that break the sensitivity bound', () => {
    const cases: [string, Partial<FedBuffConfig>][] = [
      ['clip', { clip: undefined }],
      ['aggregator.kind', { aggregator: { kind: 'median' } }],
      ['exampleWeighting', { exampleWeighting: 'linear' }],
      ['normOutlier', { normOutlier: { maxRatio: 3 } }],
      ['noise.noiseMultiplier', { noise: { noiseMultiplier: 0 } }],
    ];
    for (const [path, overrides] of cases) {
      assert.throws(
        () => createRule(noisyFedBuff(overrides), vectorSpec(1), tensors({ w: [0] })),
        (error: unknown) => error instanceof InvalidOptionError && error.path === path,
        path
      );
    }
  });

  test('rejects models with non-trainable tensors', () => {
    const spec = [trainable('w', [1]), nonTrainable('mean', [1])];
    assert.throws(
      () => createRule(noisyFedBuff(), spec, tensors({ w: [0], mean: [0] })),
      (error: unknown) => error instanceof InvalidOptionError && error.path === 'noise'
    );
  });
});
