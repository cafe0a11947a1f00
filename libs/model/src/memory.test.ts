import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as tf from '@tensorflow/tfjs';
import { encodeUpdate, type NamedTensor, type TensorMap } from '@asyncfl/protocol';
import { initBackend } from './backend';
import { describeClassifier } from './classifier';
import type { ModelName } from './models';
import { createModel } from './models';
import { seededRandom } from './test-utils';
import { LocalTrainer } from './train';
import { architectureHash, getWeights, modelSpec, setWeights } from './weights';

// Leak checks of the loop that a worker runs: train, encode the update, and now and then load
// a new global version. Tensor counts must return to their baseline after every step, and the
// process must not keep growing.

const MAX_RSS_GROWTH_BYTES = 50 * 1024 * 1024;
const VERSION_EVERY = 5;

/** Returns the V8 garbage collector, which Node hides unless started with --expose-gc. */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

let collectGarbage: () => void;

before(async () => {
  await initBackend('wasm');
  collectGarbage = exposeGc();
});

/** Counts of live tensors in the tfjs engine and of data buffers in the backend. */
function tensorCounts(): { tensors: number; buffers: number } {
  return { tensors: tf.memory().numTensors, buffers: tf.backend().numDataIds() };
}

function retainedBytes(): number {
  collectGarbage();
  return process.memoryUsage().rss;
}

/** Returns a weight map like `weights` with every value moved by up to ±`scale`/2. */
function perturb(weights: TensorMap, seed: number, scale: number): TensorMap {
  const random = seededRandom(seed);
  return new Map(
    [...weights].map(([name, values]) => [
      name,
      values.map((value) => value + scale * (random() - 0.5)),
    ])
  );
}

interface LoopOptions {
  readonly modelName: ModelName;
  readonly steps: number;
  readonly batchSize: number;
  readonly warmUpSteps: number;
}

interface LoopResult {
  /** Steps after which the tensor or buffer count differed from the baseline. */
  readonly leakySteps: number[];
  readonly rssGrowthBytes: number;
  readonly updateBytes: number;
}

/**
 * Runs `steps` worker iterations with one local SGD step each. Every fifth step
 * (`VERSION_EVERY`) first loads a new version of the weights, as a worker does when a newer snapshot arrives.
 * The baselines are taken after `warmUpSteps`, once tfjs and the wasm heap have allocated their
 * working memory.
 */
function runWorkerLoop(options: LoopOptions): LoopResult {
  const model = createModel(options.modelName, { seed: 3 });
  const spec = modelSpec(model);
  const hash = architectureHash(spec);
  const trainer = new LocalTrainer(model, { learningRate: 0.01, batchSize: options.batchSize });
  const initial = getWeights(model);
  const versions = [perturb(initial, 1, 0.01), perturb(initial, 2, 0.01)];
  const { inputSize } = describeClassifier(model);
  const random = seededRandom(9);
  const x = Float32Array.from({ length: options.batchSize * inputSize }, () => random());
  const labels = Uint8Array.from({ length: options.batchSize }, (_, i) => i % 10);

  let base = initial;
  let baseline = tensorCounts();
  let baselineRss = 0;
  let updateBytes = 0;
  const leakySteps: number[] = [];
  for (let step = 0; step < options.steps; step++) {
    if (step % VERSION_EVERY === 0) {
      base = versions[(step / VERSION_EVERY) % versions.length]!;
      setWeights(model, base);
    }
    const loss = trainer.trainStep(x, labels, options.batchSize);
    const local = getWeights(model);
    const tensors: NamedTensor[] = spec.map((tensor) => {
      const before = base.get(tensor.name)!;
      const after = local.get(tensor.name)!;
      return {
        name: tensor.name,
        shape: tensor.shape,
        values: after.map((value, index) => before[index]! - value),
      };
    });
    updateBytes = encodeUpdate({
      job: 'memory',
      rank: 0,
      workerId: 'memory-0',
      incarnation: 'a1',
      seq: step + 1,
      baseVersion: Math.floor(step / VERSION_EVERY),
      numExamples: options.batchSize,
      localSteps: 1,
      localLr: 0.01,
      trainLoss: loss,
      architectureHash: hash,
      tensors,
    }).length;

    if (step + 1 === options.warmUpSteps) {
      baseline = tensorCounts();
      baselineRss = retainedBytes();
    } else if (step + 1 > options.warmUpSteps) {
      const counts = tensorCounts();
      if (counts.tensors !== baseline.tensors || counts.buffers !== baseline.buffers) {
        leakySteps.push(step);
      }
    }
  }
  const rssGrowthBytes = retainedBytes() - baselineRss;
  trainer.dispose();
  return { leakySteps, rssGrowthBytes, updateBytes };
}

describe('worker loop memory', () => {
  test('mlp: 500 steps leak nothing', () => {
    const result = runWorkerLoop({ modelName: 'mlp', steps: 500, batchSize: 32, warmUpSteps: 10 });

    assert.ok(result.updateBytes > 400_000, `update of ${result.updateBytes} bytes`);
    assert.deepEqual(result.leakySteps, []);
    assert.ok(
      result.rssGrowthBytes < MAX_RSS_GROWTH_BYTES,
      `RSS grew by ${(result.rssGrowthBytes / 2 ** 20).toFixed(1)} MiB`
    );
  });

  test('lenet: 100 steps leak nothing', () => {
    // The convolution gradients run the project's wasm kernels, whose temporary buffers only
    // the backend's buffer count would reveal.
    const result = runWorkerLoop({ modelName: 'lenet', steps: 100, batchSize: 8, warmUpSteps: 5 });

    assert.deepEqual(result.leakySteps, []);
    assert.ok(
      result.rssGrowthBytes < MAX_RSS_GROWTH_BYTES,
      `RSS grew by ${(result.rssGrowthBytes / 2 ** 20).toFixed(1)} MiB`
    );
  });

  test('100 loads keep the tensor count', () => {
    const model = createModel('mlp', { seed: 1 });
    const versions = Array.from({ length: 4 }, (_, seed) => perturb(getWeights(model), seed, 0.1));
    setWeights(model, versions[0]!);
    const before = tensorCounts();

    for (let load = 0; load < 100; load++) setWeights(model, versions[load % versions.length]!);

    assert.deepEqual(tensorCounts(), before);
    assert.deepEqual(getWeights(model), versions[99 % versions.length]);
  });
});
