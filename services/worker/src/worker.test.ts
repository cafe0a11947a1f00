import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import * as tf from '@tensorflow/tfjs';
import { loadWorkerConfig } from '@asyncfl/config';
import { KernelUnavailableError, initBackend } from '@asyncfl/model';
import { Worker, partitionerOptions } from './worker';

describe('Worker start', () => {
  test('rejects a model the backend cannot train', async () => {
    // Nothing listens on this address: the check must fail before the worker connects.
    const config = loadWorkerConfig({
      args: ['--model', 'lenet', '--backend', 'wasm', '--nats', 'nats://127.0.0.1:1'],
      env: {},
    });
    await initBackend('wasm');
    const filterGradient = tf.getKernel(tf.Conv2DBackpropFilter, 'wasm');
    tf.unregisterKernel(tf.Conv2DBackpropFilter, 'wasm');
    const worker = new Worker(config, 0, pino({ level: 'silent' }));
    try {
      await assert.rejects(worker.start(), (error: unknown) => {
        assert.ok(error instanceof KernelUnavailableError);
        assert.equal(error.backend, 'wasm');
        assert.equal(error.kernelName, 'Conv2DBackpropFilter');
        assert.match(error.message, /model 'lenet' cannot train on the 'wasm' backend/);
        return true;
      });
    } finally {
      tf.registerKernel(filterGradient);
      await worker.close();
    }
  });
});

describe('partitionerOptions', () => {
  test('passes only the chosen options', () => {
    const options = (args: string[]) => partitionerOptions(loadWorkerConfig({ args, env: {} }));

    assert.deepEqual(options([]), {});
    assert.deepEqual(options(['--partition', 'dirichlet', '--dirichlet-concentration', '2']), {
      concentration: 2,
    });
    assert.deepEqual(options(['--partition', 'shards', '--classes-per-worker', '3']), {
      classesPerWorker: 3,
    });
  });
});
