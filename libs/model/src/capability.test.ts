import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from './backend';
import { checkTrainable } from './capability';
import { KernelUnavailableError, UnsupportedModelError } from './errors';
import { createModel } from './models';
import { registerWasmGradientKernels } from './wasm-kernels';
import { getWeights } from './weights';

before(async () => {
  await initBackend('wasm');
});

/** Runs `body` with the 'wasm' kernel `kernelName` unregistered, then registers it again. */
function withoutWasmKernel(kernelName: string, body: () => void): void {
  tf.unregisterKernel(kernelName, 'wasm');
  try {
    body();
  } finally {
    registerWasmGradientKernels();
  }
}

describe('checkTrainable', () => {
  test('lenet passes on wasm', () => {
    const model = createModel('lenet', { seed: 1 });
    const weights = getWeights(model);
    const tensorsBefore = tf.memory().numTensors;

    checkTrainable(model);

    assert.equal(tf.memory().numTensors, tensorsBefore);
    assert.deepEqual(getWeights(model), weights);
  });

  test('missing filter gradient is named', () => {
    const model = createModel('cifar-cnn', { seed: 1 });

    withoutWasmKernel(tf.Conv2DBackpropFilter, () => {
      assert.throws(
        () => checkTrainable(model),
        (error: unknown) => {
          assert.ok(error instanceof KernelUnavailableError);
          assert.equal(error.code, 'FL_MODEL_KERNEL_UNAVAILABLE');
          assert.equal(error.backend, 'wasm');
          assert.equal(error.kernelName, 'Conv2DBackpropFilter');
          assert.equal(error.modelName, 'cifar-cnn');
          assert.match(error.message, /'wasm' backend/);
          assert.match(error.message, /'Conv2DBackpropFilter'/);
          return true;
        }
      );
    });
  });

  test('mlp needs no convolution kernels', () => {
    const model = createModel('mlp', { seed: 1 });

    withoutWasmKernel(tf.Conv2DBackpropFilter, () => checkTrainable(model));
  });

  test('non-classifier is rejected', () => {
    const input = tf.input({ shape: [4] });
    const output = tf.layers.dense({ units: 2 }).apply(input) as tf.SymbolicTensor;
    const model = tf.model({ name: 'linear', inputs: input, outputs: output });

    assert.throws(
      () => checkTrainable(model),
      (error: unknown) => error instanceof UnsupportedModelError
    );
  });
});
