import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  InvalidFieldError,
  UpdateCompressor,
  decodeEnvelope,
  encodeUpdate,
  tensorEncodeOptions,
  transmittedValues,
  type CompressionSettings,
  type TensorEncoding,
  type UpdateFields,
  type UpdateTensor,
} from './index';

function randomFloats(n: number, seed: number, spread = 1): Float32Array {
  const out = new Float32Array(n);
  let state = seed >>> 0;
  for (let i = 0; i < n; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = (state / 2 ** 32 - 0.5) * spread;
  }
  return out;
}

function settings(kind: TensorEncoding, errorFeedback = true): CompressionSettings {
  return { kind, topkFraction: 0.05, errorFeedback };
}

function delta(values: Float32Array): UpdateTensor {
  return { name: 'dense/kernel', shape: [values.length], values, isDelta: true };
}

test('top-k count follows the fraction and sends at least one', () => {
  assert.deepEqual(tensorEncodeOptions({ kind: 'topk', topkFraction: 0.01 }, 1000), {
    encoding: 'topk',
    k: 10,
  });
  assert.deepEqual(tensorEncodeOptions({ kind: 'topk', topkFraction: 0.01 }, 10), {
    encoding: 'topk',
    k: 1,
  });
  assert.deepEqual(tensorEncodeOptions({ kind: 'topk', topkFraction: 1 }, 7), {
    encoding: 'topk',
    k: 7,
  });
  assert.deepEqual(tensorEncodeOptions({ kind: 'int8', topkFraction: 0.01 }, 1000), {
    encoding: 'int8',
  });
});

test('top-k fraction outside (0, 1] is rejected', () => {
  for (const topkFraction of [0, -0.1, 1.5, NaN]) {
    assert.throws(
      () => new UpdateCompressor({ kind: 'topk', topkFraction, errorFeedback: true }),
      InvalidFieldError,
      `fraction ${topkFraction}`
    );
  }
});

for (const kind of ['topk', 'int8', 'float16'] as const) {
  test(`${kind} residual plus sent values equals summed deltas`, () => {
    const compressor = new UpdateCompressor(settings(kind));
    const n = 2000;
    const deltaSum = new Float64Array(n);
    const sentSum = new Float64Array(n);
    for (let round = 0; round < 30; round++) {
      // Deltas of very different scales, so that int8 rounds small ones to zero.
      const values = randomFloats(n, 100 + round, round % 3 === 0 ? 1 : 0.001);
      values.forEach((v, i) => (deltaSum[i]! += v));
      const { tensors, optionsOf } = compressor.compress([delta(values)]);
      const sent = transmittedValues(tensors[0]!, optionsOf(tensors[0]!));
      sent.forEach((v, i) => (sentSum[i]! += v));
    }
    const residual = compressor.residual('dense/kernel');
    assert.ok(residual, 'a residual is kept');
    let worst = 0;
    for (let i = 0; i < n; i++) {
      worst = Math.max(worst, Math.abs(sentSum[i]! + residual[i]! - deltaSum[i]!));
    }
    // Each round adds float32 rounding of values below about 1 in size.
    assert.ok(worst < 1e-5, `largest mismatch ${worst}`);
  });
}

test('top-k with error feedback eventually sends every element', () => {
  const compressor = new UpdateCompressor(settings('topk'));
  const n = 200;
  const reached = new Set<number>();
  // 10 elements per round: 20 rounds could reach each element once, 80 leave room for ties.
  for (let round = 0; round < 80; round++) {
    // Positive deltas, so an element's residual grows every round until the element is sent.
    const values = randomFloats(n, 7 + round).map((v) => Math.abs(v) + 0.01);
    const { tensors, optionsOf } = compressor.compress([delta(values)]);
    const sent = transmittedValues(tensors[0]!, optionsOf(tensors[0]!));
    sent.forEach((v, i) => {
      if (v !== 0) reached.add(i);
    });
  }
  assert.equal(reached.size, n);
});

test('without error feedback nothing is kept', () => {
  const compressor = new UpdateCompressor(settings('topk', false));
  const values = randomFloats(100, 3);
  const { tensors } = compressor.compress([delta(values)]);
  assert.equal(tensors[0]!.values, values);
  assert.equal(compressor.residual('dense/kernel'), undefined);
});

test('non-trainable values always travel as float32', () => {
  const compressor = new UpdateCompressor(settings('topk'));
  const movingMean = randomFloats(16, 4);
  const { tensors, optionsOf } = compressor.compress([
    { name: 'bn/moving_mean', shape: [16], values: movingMean, isDelta: false },
    delta(randomFloats(100, 5)),
  ]);
  assert.deepEqual(optionsOf(tensors[0]!), { encoding: 'float32' });
  assert.equal(optionsOf(tensors[1]!).encoding, 'topk');
  assert.equal(compressor.residual('bn/moving_mean'), undefined);
  assert.deepEqual(transmittedValues(tensors[0]!, optionsOf(tensors[0]!)), movingMean);
});

test('float32 setting sends deltas unchanged', () => {
  const compressor = new UpdateCompressor(settings('float32'));
  const values = randomFloats(100, 6);
  const { tensors, optionsOf } = compressor.compress([delta(values)]);
  assert.deepEqual(optionsOf(tensors[0]!), { encoding: 'float32' });
  assert.equal(tensors[0]!.values, values);
  assert.equal(compressor.residual('dense/kernel'), undefined);
});

test('compressed update decodes to the sent values', () => {
  const compressor = new UpdateCompressor(settings('int8'));
  compressor.compress([delta(randomFloats(500, 8, 0.01))]);
  const { tensors, optionsOf } = compressor.compress([delta(randomFloats(500, 9))]);
  const update: UpdateFields = {
    job: 'mnist',
    rank: 0,
    workerId: 'w-0',
    incarnation: 'abcd',
    seq: 2,
    baseVersion: 1,
    numExamples: 32,
    localSteps: 1,
    localLr: 0.1,
    trainLoss: 1,
    architectureHash: 'ab'.repeat(32),
    tensors,
  };
  const decoded = decodeEnvelope(encodeUpdate(update, optionsOf));
  if (decoded.kind !== 'update') return assert.fail('expected an update');
  assert.deepEqual(
    decoded.update.tensors[0]!.values,
    transmittedValues(tensors[0]!, optionsOf(tensors[0]!))
  );
});
