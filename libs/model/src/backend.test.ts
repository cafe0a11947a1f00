import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from './backend';
import { BackendUnavailableError, InvalidOptionError } from './errors';

const require = createRequire(import.meta.url);

function isInstalled(packageName: string): boolean {
  try {
    require.resolve(packageName);
    return true;
  } catch {
    return false;
  }
}

const hasNativeBindings =
  isInstalled('@tensorflow/tfjs-node') || isInstalled('@tensorflow/tfjs-node-gpu');
const nativeSkip = hasNativeBindings ? 'tfjs-node is installed here' : false;

function productOfTwoByTwo(): number[] {
  return tf.tidy(() =>
    Array.from(
      tf
        .matMul(
          tf.tensor2d([
            [1, 1],
            [0, 1],
          ]),
          tf.tensor2d([
            [2, 0],
            [3, 4],
          ])
        )
        .dataSync()
    )
  );
}

// Tests run in order and share the process-wide tfjs engine.
describe('initBackend', () => {
  test('auto picks wasm without tfjs-node', { skip: nativeSkip }, async () => {
    const selection = await initBackend('auto');

    assert.equal(selection.name, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.match(selection.reason, /skipped tensorflow/);
    assert.match(selection.reason, /@tensorflow\/tfjs-node is not installed/);
    assert.match(selection.reason, /@tensorflow\/tfjs-node-gpu is not installed/);
  });

  test('auto twice returns same selection', async () => {
    const first = await initBackend('auto');
    const [second, third] = await Promise.all([initBackend('auto'), initBackend('auto')]);

    assert.deepEqual(second, first);
    assert.deepEqual(third, first);
    assert.equal(tf.getBackend(), first.name);
  });

  test('explicit tensorflow rejects with typed error', { skip: nativeSkip }, async () => {
    const before = tf.getBackend();

    await assert.rejects(initBackend('tensorflow'), (error: unknown) => {
      assert.ok(error instanceof BackendUnavailableError);
      assert.equal(error.code, 'FL_MODEL_BACKEND_UNAVAILABLE');
      assert.equal(error.name, 'BackendUnavailableError');
      assert.equal(error.backend, 'tensorflow');
      assert.match(error.message, /^backend 'tensorflow' is unavailable: /);
      assert.match(error.message, /@tensorflow\/tfjs-node is not installed/);
      assert.ok(error.cause instanceof Error);
      return true;
    });
    assert.equal(tf.getBackend(), before);
    assert.deepEqual(productOfTwoByTwo(), [5, 4, 3, 4]);
  });

  test('explicit cpu then wasm switch backends', async () => {
    const cpu = await initBackend('cpu');
    assert.equal(cpu.name, 'cpu');
    assert.equal(cpu.reason, 'requested cpu');
    assert.equal(tf.getBackend(), 'cpu');
    assert.deepEqual(productOfTwoByTwo(), [5, 4, 3, 4]);

    const wasm = await initBackend('wasm');
    assert.equal(wasm.name, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.deepEqual(productOfTwoByTwo(), [5, 4, 3, 4]);
  });

  test('unknown preference rejects', async () => {
    await assert.rejects(initBackend('webgpu' as 'cpu'), (error: unknown) => {
      assert.ok(error instanceof InvalidOptionError);
      assert.equal(error.code, 'FL_MODEL_INVALID_OPTION');
      assert.match(error.message, /'webgpu'/);
      return true;
    });
  });
});
