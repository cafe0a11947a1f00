import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from './backend';
import { evaluate } from './evaluate';
import { InvalidBatchError, InvalidOptionError, LabelOutOfRangeError } from './errors';
import { createModel } from './models';
import { seededRandom, setConstantLogits } from './test-utils';

before(async () => {
  await initBackend('wasm');
});

const FEATURES = 784;
/** Logits that rank class 0 first and class 9 last, whatever the input. */
const RANKED_LOGITS = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0];

function rankedModel(): tf.LayersModel {
  const model = createModel('mlp', { hidden: [] });
  setConstantLogits(model, RANKED_LOGITS);
  return model;
}

function randomImages(count: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: count * FEATURES }, () => random());
}

/** Returns -log softmax(logits)[label], computed in float64. */
function crossEntropy(logits: readonly number[], label: number): number {
  const max = Math.max(...logits);
  const logSum = Math.log(logits.reduce((sum, logit) => sum + Math.exp(logit - max), 0)) + max;
  return logSum - (logits[label] ?? Number.NaN);
}

describe('evaluate', () => {
  const labels = Uint8Array.from([0, 1, 4, 5, 9, 2]);
  // Label ranks 0, 1, 4, 5, 9, 2: one top-1 hit (0) and four top-5 hits (0, 1, 4, 2).
  const expectedLoss =
    Array.from(labels).reduce((sum, label) => sum + crossEntropy(RANKED_LOGITS, label), 0) /
    labels.length;

  test('top-k and loss on known outputs', () => {
    const result = evaluate(rankedModel(), randomImages(labels.length, 1), labels);

    assert.equal(result.count, 6);
    assert.ok(Math.abs(result.top1 - 1 / 6) < 1e-9, `top1 ${result.top1}`);
    assert.ok(Math.abs(result.top5 - 4 / 6) < 1e-9, `top5 ${result.top5}`);
    assert.ok(Math.abs(result.loss - expectedLoss) < 1e-5, `loss ${result.loss}`);
  });

  test('batch size does not change result', () => {
    const model = rankedModel();
    const images = randomImages(labels.length, 2);
    const whole = evaluate(model, images, labels, { batchSize: 100 });

    for (const batchSize of [1, 4, 5]) {
      const batched = evaluate(model, images, labels, { batchSize });
      assert.equal(batched.count, whole.count);
      assert.equal(batched.top1, whole.top1);
      assert.equal(batched.top5, whole.top5);
      assert.ok(Math.abs(batched.loss - whole.loss) < 1e-6, `batch ${batchSize}`);
    }
  });

  test('ties count as hits', () => {
    const model = createModel('mlp', { hidden: [] });
    setConstantLogits(model, [1, 1, 1, 1, 1, 1, 0, 0, 0, 0]);
    // Label 5 shares the top score with five other classes, so it is a top-1 hit.
    // Label 6 has six classes above it, so it misses top-5.
    const result = evaluate(model, randomImages(2, 3), Uint8Array.from([5, 6]));

    assert.equal(result.top1, 0.5);
    assert.equal(result.top5, 0.5);
  });

  test('non-finite label score misses', () => {
    const model = createModel('mlp', { hidden: [] });
    setConstantLogits(model, [Number.NaN, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    // Label 0 has a NaN logit. Label 1 has no class strictly above it, because NaN compares false.
    const result = evaluate(model, randomImages(2, 8), Uint8Array.from([0, 1]));

    assert.equal(result.top1, 0.5);
    assert.equal(result.top5, 0.5);
  });

  test('leaks no tensors', () => {
    const model = rankedModel();
    const images = randomImages(labels.length, 4);
    evaluate(model, images, labels, { batchSize: 4 });
    const before = tf.memory().numTensors;

    evaluate(model, images, labels, { batchSize: 4 });

    assert.equal(tf.memory().numTensors, before);
  });

  test('rejects invalid input', () => {
    const model = rankedModel();

    assert.throws(() => evaluate(model, new Float32Array(0), new Uint8Array(0)), InvalidBatchError);
    assert.throws(
      () => evaluate(model, randomImages(3, 5), new Uint8Array(2)),
      (error: unknown) => error instanceof InvalidBatchError && error.argument === 'x'
    );
    assert.throws(
      () => evaluate(model, randomImages(1, 6), Uint8Array.from([10])),
      LabelOutOfRangeError
    );
    assert.throws(
      () => evaluate(model, randomImages(1, 7), Uint8Array.from([1]), { batchSize: 0 }),
      InvalidOptionError
    );
  });
});
