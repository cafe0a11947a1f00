import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from './backend';
import { InvalidOptionError, UnknownModelError } from './errors';
import type { ModelName } from './models';
import { createModel, MODEL_NAMES } from './models';
import { getWeights, modelSpec } from './weights';

before(async () => {
  await initBackend('wasm');
});

const DEFAULT_MLP_SPEC = [
  { name: 'dense1/kernel', shape: [784, 128], dtype: 'float32', trainable: true },
  { name: 'dense1/bias', shape: [128], dtype: 'float32', trainable: true },
  { name: 'dense2/kernel', shape: [128, 10], dtype: 'float32', trainable: true },
  { name: 'dense2/bias', shape: [10], dtype: 'float32', trainable: true },
];

describe('createModel mlp', () => {
  test('default spec is 784-128-10', () => {
    const model = createModel('mlp');

    assert.deepEqual(modelSpec(model), DEFAULT_MLP_SPEC);
    assert.deepEqual(model.inputs[0]?.shape, [null, 784]);
    assert.deepEqual(model.outputs[0]?.shape, [null, 10]);
  });

  test('names stable across separate models', () => {
    // A second and third model would get counter-suffixed variable names in tfjs.
    const first = createModel('mlp', { seed: 1 });
    const second = createModel('mlp', { seed: 2 });
    const third = createModel('mlp');

    assert.deepEqual(modelSpec(second), modelSpec(first));
    assert.deepEqual(modelSpec(third), modelSpec(first));
    assert.deepEqual(
      [...getWeights(second).keys()],
      DEFAULT_MLP_SPEC.map((spec) => spec.name)
    );
  });

  test('same seed gives identical weights', () => {
    const first = getWeights(createModel('mlp', { seed: 7 }));
    const second = getWeights(createModel('mlp', { seed: 7 }));

    assert.deepEqual(second, first);
  });

  test('different seeds give different kernels', () => {
    const first = getWeights(createModel('mlp', { seed: 7 }));
    const second = getWeights(createModel('mlp', { seed: 8 }));

    assert.notDeepEqual(second.get('dense1/kernel'), first.get('dense1/kernel'));
    assert.notDeepEqual(second.get('dense2/kernel'), first.get('dense2/kernel'));
  });

  test('kernels are glorot uniform, biases zero', () => {
    const weights = getWeights(createModel('mlp', { seed: 3 }));
    const kernel = weights.get('dense1/kernel');
    assert.ok(kernel);
    const limit = Math.sqrt(6 / (784 + 128));
    const mean = kernel.reduce((sum, value) => sum + value, 0) / kernel.length;

    assert.ok(kernel.every((value) => Math.abs(value) <= limit));
    assert.ok(Math.abs(mean) < 0.01 * limit, `mean ${mean}`);
    assert.ok(weights.get('dense1/bias')?.every((value) => value === 0));
  });

  test('layers of one model differ', () => {
    const weights = getWeights(createModel('mlp', { seed: 5, hidden: [10, 10] }));

    assert.deepEqual(weights.get('dense2/kernel')?.length, 100);
    assert.notDeepEqual(weights.get('dense3/kernel'), weights.get('dense2/kernel'));
  });

  test('hidden option sets layer widths', () => {
    const spec = modelSpec(createModel('mlp', { hidden: [64, 32] }));

    assert.deepEqual(
      spec.map((tensor) => [tensor.name, tensor.shape]),
      [
        ['dense1/kernel', [784, 64]],
        ['dense1/bias', [64]],
        ['dense2/kernel', [64, 32]],
        ['dense2/bias', [32]],
        ['dense3/kernel', [32, 10]],
        ['dense3/bias', [10]],
      ]
    );
  });

  test('outputs are probabilities', () => {
    const model = createModel('mlp', { seed: 1 });
    const sums = tf.tidy(() => {
      const output = model.predict(tf.randomUniform([4, 784], 0, 1, 'float32', 1)) as tf.Tensor;
      return Array.from(tf.sum(output, 1).dataSync());
    });

    for (const sum of sums) assert.ok(Math.abs(sum - 1) < 1e-5, `row sums to ${sum}`);
  });

  test('unknown name lists known names', () => {
    assert.deepEqual(MODEL_NAMES, ['mlp', 'lenet', 'cifar-cnn']);
    assert.throws(
      () => createModel('resnet' as ModelName),
      (error: unknown) => {
        assert.ok(error instanceof UnknownModelError);
        assert.equal(error.code, 'FL_MODEL_UNKNOWN_MODEL');
        assert.equal(error.modelName, 'resnet');
        assert.deepEqual(error.knownNames, ['mlp', 'lenet', 'cifar-cnn']);
        assert.equal(
          error.message,
          "unknown model 'resnet': expected one of mlp, lenet, cifar-cnn"
        );
        return true;
      }
    );
  });

  test('invalid options are rejected', () => {
    const cases = [
      { hidden: [0] },
      { hidden: [12.5] },
      { hidden: [-1, 4] },
      { seed: 1.5 },
      { seed: Number.NaN },
    ];
    for (const options of cases) {
      assert.throws(
        () => createModel('mlp', options),
        (error: unknown) => error instanceof InvalidOptionError,
        JSON.stringify(options)
      );
    }
  });

  test('empty hidden gives one dense layer', () => {
    const spec = modelSpec(createModel('mlp', { hidden: [] }));

    assert.deepEqual(
      spec.map((tensor) => tensor.name),
      ['dense1/kernel', 'dense1/bias']
    );
  });
});

describe('createModel inputShape', () => {
  test('mlp flattens an image shape', () => {
    const model = createModel('mlp', { inputShape: [28, 28, 1] });

    assert.deepEqual(modelSpec(model), DEFAULT_MLP_SPEC);
    assert.deepEqual(model.inputs[0]?.shape, [null, 784]);
  });

  test('mlp input follows CIFAR shape', () => {
    const model = createModel('mlp', { inputShape: [32, 32, 3] });

    assert.deepEqual(modelSpec(model)[0]?.shape, [3072, 128]);
  });

  test('invalid shapes are rejected', () => {
    const cases: [ModelName, number[]][] = [
      ['mlp', []],
      ['mlp', [28, 0, 1]],
      ['mlp', [28.5]],
      ['lenet', [784]],
      ['lenet', [11, 28, 1]],
      ['cifar-cnn', [32, 7, 3]],
      ['cifar-cnn', [32, 32, -3]],
    ];
    for (const [name, inputShape] of cases) {
      assert.throws(
        () => createModel(name, { inputShape }),
        (error: unknown) => error instanceof InvalidOptionError && error.option === 'inputShape',
        `${name} ${JSON.stringify(inputShape)}`
      );
    }
  });
});

describe('createModel lenet', () => {
  test('spec has two convolutions', () => {
    const spec = modelSpec(createModel('lenet'));

    assert.deepEqual(
      spec.map((tensor) => [tensor.name, tensor.shape]),
      [
        ['conv1/kernel', [5, 5, 1, 32]],
        ['conv1/bias', [32]],
        ['conv2/kernel', [5, 5, 32, 64]],
        ['conv2/bias', [64]],
        ['dense1/kernel', [1600, 128]],
        ['dense1/bias', [128]],
        ['dense2/kernel', [128, 10]],
        ['dense2/bias', [10]],
      ]
    );
  });

  test('input is a 28x28 image', () => {
    const model = createModel('lenet');

    assert.deepEqual(model.inputs[0]?.shape, [null, 28, 28, 1]);
    assert.deepEqual(model.outputs[0]?.shape, [null, 10]);
  });

  test('hidden sets dense widths', () => {
    const spec = modelSpec(createModel('lenet', { hidden: [64, 32] }));

    assert.deepEqual(
      spec.filter((tensor) => tensor.name.endsWith('/kernel')).map((tensor) => tensor.shape),
      [
        [5, 5, 1, 32],
        [5, 5, 32, 64],
        [1600, 64],
        [64, 32],
        [32, 10],
      ]
    );
  });

  test('same seed gives identical weights', () => {
    const first = getWeights(createModel('lenet', { seed: 4 }));
    const second = getWeights(createModel('lenet', { seed: 4 }));
    const other = getWeights(createModel('lenet', { seed: 5 }));

    assert.deepEqual(second, first);
    assert.notDeepEqual(other.get('conv2/kernel'), first.get('conv2/kernel'));
  });

  test('outputs are probabilities', () => {
    const model = createModel('lenet', { seed: 1 });
    const sums = tf.tidy(() => {
      const images = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 1);
      return Array.from(tf.sum(model.predict(images) as tf.Tensor, 1).dataSync());
    });

    for (const sum of sums) assert.ok(Math.abs(sum - 1) < 1e-5, `row sums to ${sum}`);
  });
});

describe('createModel cifar-cnn', () => {
  test('spec has three convolutions', () => {
    const spec = modelSpec(createModel('cifar-cnn'));

    assert.deepEqual(
      spec.map((tensor) => [tensor.name, tensor.shape]),
      [
        ['conv1/kernel', [3, 3, 3, 32]],
        ['conv1/bias', [32]],
        ['conv2/kernel', [3, 3, 32, 64]],
        ['conv2/bias', [64]],
        ['conv3/kernel', [3, 3, 64, 64]],
        ['conv3/bias', [64]],
        ['dense1/kernel', [1024, 128]],
        ['dense1/bias', [128]],
        ['dense2/kernel', [128, 10]],
        ['dense2/bias', [10]],
      ]
    );
  });

  test('input is a 32x32 color image', () => {
    const model = createModel('cifar-cnn');

    assert.deepEqual(model.inputs[0]?.shape, [null, 32, 32, 3]);
    assert.deepEqual(model.outputs[0]?.shape, [null, 10]);
  });

  test('outputs are probabilities', () => {
    const model = createModel('cifar-cnn', { seed: 1 });
    const sums = tf.tidy(() => {
      const images = tf.randomUniform([3, 32, 32, 3], 0, 1, 'float32', 1);
      return Array.from(tf.sum(model.predict(images) as tf.Tensor, 1).dataSync());
    });

    for (const sum of sums) assert.ok(Math.abs(sum - 1) < 1e-5, `row sums to ${sum}`);
  });
});
