import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from './backend';
import { describeClassifier, forwardCrossEntropy } from './classifier';
import type { ModelName } from './models';
import { createModel, MODEL_NAMES } from './models';
import { maxAbsDifference, seededRandom } from './test-utils';
import { getWeights, setWeights } from './weights';

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

/** Backends compared against 'cpu'. */
const BACKENDS = [
  { preference: 'wasm', skip: false },
  {
    preference: 'tensorflow',
    skip: hasNativeBindings ? false : 'neither @tensorflow/tfjs-node nor -gpu is installed',
  },
] as const;

const BATCH_SIZE = 2;
const TOLERANCE = 1e-4;

before(async () => {
  await initBackend('wasm');
});

/** Returns the training loss gradient of every trainable weight, by weight name. */
function lossGradients(
  model: tf.LayersModel,
  x: Float32Array,
  labels: Uint8Array
): Map<string, Float32Array> {
  const shape = describeClassifier(model);
  const variables = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
  const gradients = new Map<string, Float32Array>();
  tf.tidy(() => {
    const { grads } = tf.variableGrads(
      () => tf.mean(forwardCrossEntropy(model, shape, x, labels, true).losses) as tf.Scalar,
      variables
    );
    model.trainableWeights.forEach((weight, index) => {
      const gradient = grads[variables[index]!.name];
      assert.ok(gradient, `no gradient for ${weight.originalName}`);
      gradients.set(weight.originalName, gradient.dataSync() as Float32Array);
    });
  });
  return gradients;
}

function randomBatch(model: tf.LayersModel, seed: number) {
  const { inputSize, classCount } = describeClassifier(model);
  const random = seededRandom(seed);
  const x = Float32Array.from({ length: BATCH_SIZE * inputSize }, () => random());
  const labels = Uint8Array.from({ length: BATCH_SIZE }, () => Math.floor(random() * classCount));
  return { x, labels };
}

describe('gradient parity with cpu', () => {
  for (const backend of BACKENDS) {
    for (const name of MODEL_NAMES) {
      test(`${name} on ${backend.preference}`, { skip: backend.skip }, async () => {
        await initBackend('cpu');
        const model = createModel(name as ModelName, { seed: 11 });
        const { x, labels } = randomBatch(model, 5);
        const expected = lossGradients(model, x, labels);
        const initial = getWeights(model);

        await initBackend(backend.preference);
        setWeights(model, initial);
        const actual = lossGradients(model, x, labels);

        assert.deepEqual([...actual.keys()], [...expected.keys()]);
        for (const [weightName, values] of expected) {
          const difference = maxAbsDifference(actual.get(weightName)!, values);
          assert.ok(difference < TOLERANCE, `${weightName} differs by ${difference}`);
        }
        const largest = Math.max(
          ...[...expected.values()].map((g) => maxAbsDifference(g, new Float32Array(g.length)))
        );
        assert.ok(largest > 1e-3, `gradients are too small to compare: largest ${largest}`);
      });
    }
  }
});
