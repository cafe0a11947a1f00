import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from './backend';
import { evaluate } from './evaluate';
import {
  InvalidBatchError,
  InvalidOptionError,
  LabelOutOfRangeError,
  UnsupportedModelError,
} from './errors';
import { createModel } from './models';
import { maxAbsDifference, seededRandom, setConstantLogits } from './test-utils';
import type { Batch } from './train';
import { LocalTrainer } from './train';
import { getWeights } from './weights';

before(async () => {
  await initBackend('wasm');
});

const FEATURES = 784;
const CLASSES = 10;
const BAND = Math.floor(FEATURES / CLASSES);

/** Returns a batch source where class c lights up feature band c, with uniform noise. */
function separableBatches(seed: number, size: number): () => Batch {
  const random = seededRandom(seed);
  return () => {
    const x = new Float32Array(size * FEATURES);
    const y = new Uint8Array(size);
    for (let row = 0; row < size; row++) {
      const label = Math.floor(random() * CLASSES);
      y[row] = label;
      for (let feature = 0; feature < FEATURES; feature++) {
        const inBand = Math.floor(feature / BAND) === label;
        x[row * FEATURES + feature] = (inBand ? 1 : 0) + 0.3 * random();
      }
    }
    return { x, y, size };
  };
}

describe('LocalTrainer', () => {
  test('steps reduce loss on separable data', () => {
    const model = createModel('mlp', { seed: 1, hidden: [32] });
    const trainer = new LocalTrainer(model, { learningRate: 0.1, batchSize: 32 });
    const test = separableBatches(99, 256)();
    const lossBefore = evaluate(model, test.x, test.y).loss;

    const result = trainer.trainSteps(separableBatches(1, 32), 40);
    const after = evaluate(model, test.x, test.y);

    assert.equal(result.examples, 40 * 32);
    assert.ok(Number.isFinite(result.meanLoss));
    assert.ok(after.loss < 0.5 * lossBefore, `loss ${lossBefore} -> ${after.loss}`);
    assert.ok(after.top1 > 0.9, `top1 ${after.top1}`);
    trainer.dispose();
  });

  test('first step loss and SGD update', () => {
    // Zero weights give uniform outputs, so the loss is ln(10) and the bias gradient is
    // mean(softmax - onehot) = 0.1 - share of the class.
    const model = createModel('mlp', { hidden: [] });
    setConstantLogits(model, new Array(CLASSES).fill(0));
    const learningRate = 0.5;
    const trainer = new LocalTrainer(model, { learningRate, batchSize: 4 });
    const labels = Uint8Array.from([0, 0, 3, 9]);
    const x = new Float32Array(4 * FEATURES).fill(0);

    const loss = trainer.trainStep(x, labels, 4);

    assert.ok(Math.abs(loss - Math.log(CLASSES)) < 1e-5, `loss ${loss}`);
    const share = [0.5, 0, 0, 0.25, 0, 0, 0, 0, 0, 0.25];
    const expectedBias = share.map((p) => -learningRate * (0.1 - p));
    const bias = getWeights(model).get('dense1/bias');
    assert.ok(bias);
    assert.ok(maxAbsDifference(bias, expectedBias) < 1e-6, `bias ${Array.from(bias)}`);
    // Zero inputs give a zero kernel gradient.
    assert.ok(
      getWeights(model)
        .get('dense1/kernel')
        ?.every((value) => value === 0)
    );
    trainer.dispose();
  });

  test('tensor count stable over 20 steps', () => {
    const model = createModel('mlp', { seed: 2 });
    const trainer = new LocalTrainer(model, { learningRate: 0.05, batchSize: 64 });
    const nextBatch = separableBatches(3, 64);
    const before = tf.memory().numTensors;

    for (let step = 0; step < 20; step++) {
      const batch = nextBatch();
      trainer.trainStep(batch.x, batch.y, batch.size);
      assert.equal(tf.memory().numTensors, before, `after step ${step + 1}`);
    }
    trainer.dispose();
    assert.equal(tf.memory().numTensors, before - 1);
  });

  test('frozen layers stay unchanged', () => {
    const model = createModel('mlp', { seed: 4, hidden: [16] });
    model.getLayer('dense1').trainable = false;
    const trainer = new LocalTrainer(model, { learningRate: 0.1, batchSize: 16 });
    const before = getWeights(model);

    trainer.trainSteps(separableBatches(5, 16), 3);
    const after = getWeights(model);

    assert.deepEqual(after.get('dense1/kernel'), before.get('dense1/kernel'));
    assert.deepEqual(after.get('dense1/bias'), before.get('dense1/bias'));
    assert.notDeepEqual(after.get('dense2/kernel'), before.get('dense2/kernel'));
    trainer.dispose();
  });

  test('fused softmax output gives same loss', () => {
    const input = tf.input({ shape: [FEATURES] });
    const dense = tf.layers.dense({ name: 'dense1', units: CLASSES, activation: 'softmax' });
    const model = tf.model({ inputs: input, outputs: dense.apply(input) as tf.SymbolicTensor });
    setConstantLogits(model, new Array(CLASSES).fill(0));
    const trainer = new LocalTrainer(model, { learningRate: 0.1, batchSize: 2 });

    const loss = trainer.trainStep(new Float32Array(2 * FEATURES), Uint8Array.from([1, 2]), 2);

    assert.ok(Math.abs(loss - Math.log(CLASSES)) < 1e-5, `loss ${loss}`);
    trainer.dispose();
  });

  test('smaller final batch is accepted', () => {
    const model = createModel('mlp', { seed: 6, hidden: [8] });
    const trainer = new LocalTrainer(model, { learningRate: 0.1, batchSize: 8 });
    const sizes = [8, 8, 3];
    const batches = sizes.map((size, index) => separableBatches(index, size)());

    const result = trainer.trainSteps(() => batches.shift() ?? assert.fail('no batch'), 3);

    assert.equal(result.examples, 19);
    trainer.dispose();
  });

  test('rejects invalid learning rates', () => {
    const model = createModel('mlp', { hidden: [] });
    for (const learningRate of [0, -0.1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(
        () => new LocalTrainer(model, { learningRate, batchSize: 8 }),
        (error: unknown) => {
          assert.ok(error instanceof InvalidOptionError);
          assert.equal(error.code, 'FL_MODEL_INVALID_OPTION');
          assert.equal(error.option, 'learningRate');
          return true;
        },
        String(learningRate)
      );
    }
  });

  test('rejects invalid batch sizes and steps', () => {
    const model = createModel('mlp', { hidden: [] });
    assert.throws(
      () => new LocalTrainer(model, { learningRate: 0.1, batchSize: 0 }),
      InvalidOptionError
    );
    const trainer = new LocalTrainer(model, { learningRate: 0.1, batchSize: 4 });

    assert.throws(
      () => trainer.trainStep(new Float32Array(5 * FEATURES), new Uint8Array(5), 5),
      InvalidOptionError
    );
    assert.throws(() => trainer.trainSteps(separableBatches(1, 4), 0), InvalidOptionError);
    trainer.dispose();
  });

  test('rejects mismatched batch arrays', () => {
    const model = createModel('mlp', { hidden: [] });
    const trainer = new LocalTrainer(model, { learningRate: 0.1, batchSize: 4 });
    const before = tf.memory().numTensors;

    assert.throws(
      () => trainer.trainStep(new Float32Array(4 * FEATURES - 1), new Uint8Array(4), 4),
      (error: unknown) => {
        assert.ok(error instanceof InvalidBatchError);
        assert.equal(error.code, 'FL_MODEL_INVALID_BATCH');
        assert.equal(error.argument, 'x');
        assert.equal(error.expectedLength, 4 * FEATURES);
        return true;
      }
    );
    assert.throws(
      () => trainer.trainStep(new Float32Array(4 * FEATURES), new Uint8Array(3), 4),
      (error: unknown) => error instanceof InvalidBatchError && error.argument === 'labels'
    );
    assert.throws(
      () => trainer.trainStep(new Float32Array(4 * FEATURES), Uint8Array.from([0, 1, 10, 2]), 4),
      (error: unknown) => {
        assert.ok(error instanceof LabelOutOfRangeError);
        assert.equal(error.code, 'FL_MODEL_LABEL_OUT_OF_RANGE');
        assert.equal(error.index, 2);
        assert.equal(error.label, 10);
        assert.equal(error.classCount, 10);
        return true;
      }
    );
    assert.equal(tf.memory().numTensors, before);
    trainer.dispose();
  });

  test('rejects non-softmax output', () => {
    const input = tf.input({ shape: [4] });
    const dense = tf.layers.dense({ name: 'dense1', units: 3 });
    const model = tf.model({ inputs: input, outputs: dense.apply(input) as tf.SymbolicTensor });

    assert.throws(
      () => new LocalTrainer(model, { learningRate: 0.1, batchSize: 2 }),
      (error: unknown) => {
        assert.ok(error instanceof UnsupportedModelError);
        assert.equal(error.code, 'FL_MODEL_UNSUPPORTED_ARCHITECTURE');
        assert.match(error.message, /must apply a softmax, found linear/);
        return true;
      }
    );
  });
});
