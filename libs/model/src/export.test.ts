import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from './backend';
import { ModelLoadError } from './errors';
import { exportTfjsModel, loadExportedModel } from './export';
import { createModel } from './models';
import { maxAbsDifference, seededRandom } from './test-utils';
import { LocalTrainer } from './train';
import { getWeights, modelSpec } from './weights';

let workDir: string;

before(async () => {
  await initBackend('wasm');
  workDir = await mkdtemp(join(tmpdir(), 'asyncfl-model-export-'));
});

after(async () => {
  await rm(workDir, { recursive: true, force: true });
});

function predict(model: tf.LayersModel, images: Float32Array): Float32Array {
  return tf.tidy(() => {
    const output = model.predict(tf.tensor2d(images, [images.length / 784, 784])) as tf.Tensor;
    return output.dataSync() as Float32Array;
  });
}

function randomImages(count: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: count * 784 }, () => random());
}

describe('exportTfjsModel', () => {
  test('writes the tfjs layers format', async () => {
    const dir = join(workDir, 'format');
    const model = createModel('mlp', { seed: 1 });

    const paths = await exportTfjsModel(model, dir);

    assert.equal(paths.modelJsonPath, join(dir, 'model.json'));
    assert.equal(paths.weightsPath, join(dir, 'weights.bin'));
    const modelJson = JSON.parse(await readFile(paths.modelJsonPath, 'utf8'));
    assert.equal(modelJson.format, 'layers-model');
    assert.match(modelJson.generatedBy, /^TensorFlow\.js tfjs-layers v/);
    assert.equal(modelJson.convertedBy, null);
    assert.equal(modelJson.modelTopology.class_name, 'Model');
    assert.equal(modelJson.weightsManifest.length, 1);
    assert.deepEqual(modelJson.weightsManifest[0].paths, ['weights.bin']);
    assert.deepEqual(
      modelJson.weightsManifest[0].weights,
      modelSpec(model).map(({ name, shape, dtype }) => ({ name, shape, dtype }))
    );
    const parameterCount = 784 * 128 + 128 + 128 * 10 + 10;
    assert.equal((await stat(paths.weightsPath)).size, 4 * parameterCount);
  });

  test('loaded model predicts the same', async () => {
    const dir = join(workDir, 'round-trip');
    const model = createModel('mlp', { seed: 2 });
    // Train briefly so the biases are non-zero too.
    const trainer = new LocalTrainer(model, { learningRate: 0.1, batchSize: 8 });
    const labels = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
    trainer.trainStep(randomImages(8, 3), labels, 8);
    trainer.dispose();

    await exportTfjsModel(model, dir);
    const loaded = await loadExportedModel(dir);

    assert.deepEqual(modelSpec(loaded), modelSpec(model));
    assert.deepEqual(getWeights(loaded), getWeights(model));
    const images = randomImages(16, 4);
    const difference = maxAbsDifference(predict(loaded, images), predict(model, images));
    assert.ok(difference <= 1e-6, `max difference ${difference}`);
  });

  test('loaded model is trainable', async () => {
    const dir = join(workDir, 'trainable');
    await exportTfjsModel(createModel('mlp', { seed: 5, hidden: [8] }), dir);
    const loaded = await loadExportedModel(dir);
    const trainer = new LocalTrainer(loaded, { learningRate: 0.1, batchSize: 4 });

    const loss = trainer.trainStep(randomImages(4, 6), Uint8Array.from([1, 2, 3, 4]), 4);

    assert.ok(Number.isFinite(loss));
    trainer.dispose();
  });

  test('export overwrites a previous export', async () => {
    const dir = join(workDir, 'overwrite');
    await exportTfjsModel(createModel('mlp', { seed: 6 }), dir);
    const second = createModel('mlp', { seed: 7 });

    await exportTfjsModel(second, dir);
    const loaded = await loadExportedModel(dir);

    assert.deepEqual(getWeights(loaded), getWeights(second));
  });
});

describe('loadExportedModel', () => {
  async function exportTo(name: string): Promise<string> {
    const dir = join(workDir, name);
    await exportTfjsModel(createModel('mlp', { seed: 8, hidden: [4] }), dir);
    return dir;
  }

  function isLoadError(error: unknown): boolean {
    assert.ok(error instanceof ModelLoadError);
    assert.equal(error.code, 'FL_MODEL_LOAD_FAILED');
    return true;
  }

  test('rejects a missing directory', async () => {
    await assert.rejects(loadExportedModel(join(workDir, 'absent')), isLoadError);
  });

  test('rejects truncated weights', async () => {
    const dir = await exportTo('truncated');
    const weights = await readFile(join(dir, 'weights.bin'));
    await writeFile(join(dir, 'weights.bin'), weights.subarray(0, weights.length - 4));

    await assert.rejects(loadExportedModel(dir), (error: unknown) => {
      isLoadError(error);
      assert.match(String(error), /hold \d+ bytes, the manifest describes \d+/);
      return true;
    });
  });

  test('rejects weights paths outside the directory', async () => {
    const dir = await exportTo('escape');
    const modelJsonPath = join(dir, 'model.json');
    const modelJson = JSON.parse(await readFile(modelJsonPath, 'utf8'));
    modelJson.weightsManifest[0].paths = ['../truncated/weights.bin'];
    await writeFile(modelJsonPath, JSON.stringify(modelJson));

    await assert.rejects(loadExportedModel(dir), (error: unknown) => {
      isLoadError(error);
      assert.match(String(error), /outside the model directory/);
      return true;
    });
  });

  test('rejects malformed model.json', async () => {
    const dir = await exportTo('malformed');
    await writeFile(join(dir, 'model.json'), '{"modelTopology": {}');

    await assert.rejects(loadExportedModel(dir), (error: unknown) => {
      isLoadError(error);
      assert.match(String(error), /invalid JSON/);
      return true;
    });
  });
});
