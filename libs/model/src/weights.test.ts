import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from './backend';
import { ShapeMismatchError, WeightMissingError, WeightUnknownError } from './errors';
import { createModel } from './models';
import { randomWeights } from './test-utils';
import { architectureHash, getWeights, modelSpec, setWeights } from './weights';

before(async () => {
  await initBackend('wasm');
});

function bytesOf(values: Float32Array | undefined): Buffer {
  assert.ok(values);
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

describe('modelSpec', () => {
  test('reports non-trainable weights', () => {
    const model = createModel('mlp', { hidden: [8] });
    model.getLayer('dense1').trainable = false;

    const trainable = new Map(modelSpec(model).map((tensor) => [tensor.name, tensor.trainable]));

    // tfjs lists trainable weights before non-trainable ones, so compare by name.
    assert.deepEqual(
      trainable,
      new Map([
        ['dense1/kernel', false],
        ['dense1/bias', false],
        ['dense2/kernel', true],
        ['dense2/bias', true],
      ])
    );
  });
});

describe('architectureHash', () => {
  const spec = modelSpec(createModel('mlp'));

  test('is hex sha-256', () => {
    assert.match(architectureHash(spec), /^[0-9a-f]{64}$/);
  });

  test('equal for separately built models', () => {
    assert.equal(
      architectureHash(modelSpec(createModel('mlp', { seed: 9 }))),
      architectureHash(spec)
    );
  });

  test('ignores tensor order', () => {
    assert.equal(architectureHash([...spec].reverse()), architectureHash(spec));
  });

  test('differs when a shape differs', () => {
    const other = modelSpec(createModel('mlp', { hidden: [64] }));

    assert.notEqual(architectureHash(other), architectureHash(spec));
  });

  test('differs when a name or flag differs', () => {
    const renamed = spec.map((tensor, index) =>
      index === 0 ? { ...tensor, name: 'dense0/kernel' } : tensor
    );
    const frozen = spec.map((tensor, index) =>
      index === 0 ? { ...tensor, trainable: false } : tensor
    );

    assert.notEqual(architectureHash(renamed), architectureHash(spec));
    assert.notEqual(architectureHash(frozen), architectureHash(spec));
  });
});

describe('getWeights and setWeights', () => {
  test('round trip is bitwise', () => {
    const model = createModel('mlp', { seed: 1 });
    const weights = randomWeights(modelSpec(model), 42);
    // Values that a lossy path would change: subnormal, negative zero, large exponent.
    const bias = weights.get('dense2/bias');
    assert.ok(bias);
    bias.set([1.4e-45, -0, 3.4e38, 1 / 3]);

    setWeights(model, weights);
    const read = getWeights(model);

    assert.deepEqual([...read.keys()], [...weights.keys()]);
    for (const [name, values] of weights) {
      assert.ok(bytesOf(read.get(name)).equals(bytesOf(values)), name);
    }
  });

  test('round trip across two models', () => {
    const source = createModel('mlp', { seed: 1 });
    const target = createModel('mlp', { seed: 2 });

    setWeights(target, getWeights(source));

    assert.deepEqual(getWeights(target), getWeights(source));
  });

  test('returned arrays are copies', async () => {
    // The cpu backend's dataSync returns the tensor's own storage, so test it as well.
    for (const backend of ['wasm', 'cpu'] as const) {
      await initBackend(backend);
      const model = createModel('mlp', { seed: 1 });
      const first = getWeights(model);
      const original = Float32Array.from(first.get('dense1/bias') ?? []);

      first.get('dense1/bias')?.fill(5);

      assert.deepEqual(getWeights(model).get('dense1/bias'), original, backend);
    }
    await initBackend('wasm');
  });

  test('input arrays are copied', async () => {
    // The cpu backend keeps the array a tensor is created from, so only it shows aliasing.
    await initBackend('cpu');
    try {
      const model = createModel('mlp', { seed: 1 });
      const weights = randomWeights(modelSpec(model), 3);
      const expected = Float32Array.from(weights.get('dense1/bias') ?? []);

      setWeights(model, weights);
      weights.get('dense1/bias')?.fill(5);

      assert.deepEqual(getWeights(model).get('dense1/bias'), expected);
    } finally {
      await initBackend('wasm');
    }
  });

  test('setWeights leaks no tensors', () => {
    const model = createModel('mlp', { seed: 1 });
    const weights = randomWeights(modelSpec(model), 4);
    setWeights(model, weights);
    const before = tf.memory().numTensors;

    for (let i = 0; i < 5; i++) setWeights(model, weights);
    getWeights(model);

    assert.equal(tf.memory().numTensors, before);
  });

  test('rejects a missing tensor', () => {
    const model = createModel('mlp', { seed: 1 });
    const weights = randomWeights(modelSpec(model), 5);
    weights.delete('dense2/bias');

    assert.throws(
      () => setWeights(model, weights),
      (error: unknown) => {
        assert.ok(error instanceof WeightMissingError);
        assert.equal(error.code, 'FL_MODEL_WEIGHT_MISSING');
        assert.equal(error.tensorName, 'dense2/bias');
        assert.match(error.message, /'dense2\/bias' is missing/);
        return true;
      }
    );
  });

  test('rejects an unknown tensor', () => {
    const model = createModel('mlp', { seed: 1 });
    const weights = randomWeights(modelSpec(model), 6);
    weights.set('dense3/bias', new Float32Array(10));

    assert.throws(
      () => setWeights(model, weights),
      (error: unknown) => {
        assert.ok(error instanceof WeightUnknownError);
        assert.equal(error.code, 'FL_MODEL_WEIGHT_UNKNOWN');
        assert.equal(error.tensorName, 'dense3/bias');
        return true;
      }
    );
  });

  test('rejects a wrong element count', () => {
    const model = createModel('mlp', { seed: 1 });
    const weights = randomWeights(modelSpec(model), 7);
    weights.set('dense1/kernel', new Float32Array(784 * 64));

    assert.throws(
      () => setWeights(model, weights),
      (error: unknown) => {
        assert.ok(error instanceof ShapeMismatchError);
        assert.equal(error.code, 'FL_MODEL_SHAPE_MISMATCH');
        assert.equal(error.tensorName, 'dense1/kernel');
        assert.deepEqual(error.expectedShape, [784, 128]);
        assert.equal(error.actualLength, 784 * 64);
        assert.equal(
          error.message,
          "tensor 'dense1/kernel': 50176 values do not match the model's shape [784,128] (100352 values)"
        );
        return true;
      }
    );
  });

  test('rejected set changes nothing and leaks nothing', () => {
    const model = createModel('mlp', { seed: 1 });
    const original = getWeights(model);
    const before = tf.memory().numTensors;
    const bad = randomWeights(modelSpec(model), 8);
    // dense1 tensors are valid and come first, so a partial update would change them.
    bad.set('dense2/bias', new Float32Array(3));

    assert.throws(() => setWeights(model, bad), ShapeMismatchError);
    bad.delete('dense2/bias');
    assert.throws(() => setWeights(model, bad), WeightMissingError);
    bad.set('dense2/bias', new Float32Array(10)).set('extra', new Float32Array(1));
    assert.throws(() => setWeights(model, bad), WeightUnknownError);

    assert.deepEqual(getWeights(model), original);
    assert.equal(tf.memory().numTensors, before);
  });
});
