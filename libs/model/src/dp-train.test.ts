import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { createSeededGaussianNoise, type GaussianNoise } from '@asyncfl/privacy';
import { initBackend } from './backend';
import { describeClassifier, forwardCrossEntropy } from './classifier';
import { DpSgdTrainer } from './dp-train';
import { InvalidBatchError, InvalidOptionError } from './errors';
import { createModel } from './models';
import { clippedGradientSum, describeLayerChain } from './per-example';
import { maxAbsDifference, seededRandom } from './test-utils';
import { LocalTrainer } from './train';
import { getWeights, setWeights } from './weights';

before(async () => {
  await initBackend('wasm');
});

/** Returns `size` examples with values in [0, 1) and labels cycling through the classes. */
function randomBatch(model: tf.LayersModel, size: number, seed: number) {
  const shape = describeClassifier(model);
  const random = seededRandom(seed);
  const x = Float32Array.from({ length: size * shape.inputSize }, () => random());
  const labels = Uint8Array.from({ length: size }, (_, i) => (i * 7 + seed) % shape.classCount);
  return { x, labels, shape };
}

function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((weight) => weight.read() as tf.Variable);
}

/** Names of the trainable weights as `getWeights` uses them, in variable order. */
function trainableNames(model: tf.LayersModel): string[] {
  return model.trainableWeights.map((weight) => weight.originalName);
}

/** Sequential classifiers that exercise the closed form's cases. */
function sequential(name: string, layers: tf.layers.Layer[]): tf.LayersModel {
  const model = tf.sequential({ name, layers });
  return model;
}

const PARITY_MODELS: readonly [string, () => tf.LayersModel][] = [
  ['mlp', () => createModel('mlp', { hidden: [16, 12], seed: 1 })],
  ['lenet', () => createModel('lenet', { hidden: [8], seed: 2, inputShape: [12, 12, 1] })],
  ['cifar-cnn', () => createModel('cifar-cnn', { hidden: [8], seed: 3, inputShape: [8, 8, 3] })],
  [
    'strided same convolution, no bias, fused softmax',
    () =>
      sequential('strided', [
        tf.layers.conv2d({
          inputShape: [9, 9, 2],
          filters: 4,
          kernelSize: 4,
          strides: 2,
          padding: 'same',
          useBias: false,
          activation: 'tanh',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }),
        }),
        tf.layers.conv2d({
          filters: 3,
          kernelSize: [3, 2],
          strides: [2, 1],
          padding: 'valid',
          activation: 'sigmoid',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }),
          biasInitializer: tf.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: 6 }),
        }),
        tf.layers.flatten(),
        tf.layers.dense({
          units: 5,
          activation: 'softmax',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }),
        }),
      ]),
  ],
];

describe('per-example gradients', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    for (const [name, build] of PARITY_MODELS) {
      test(`closed form matches micro-batches: ${name} on ${backend}`, async () => {
        await initBackend(backend);
        const model = build();
        try {
          const { x, labels, shape } = randomBatch(model, 6, 11);
          const chain = describeLayerChain(model);
          assert.notEqual(typeof chain, 'string', `no closed form: ${String(chain)}`);
          const variables = trainableVariables(model);
          const closed = clippedGradientSum(
            model,
            shape,
            chain as Exclude<typeof chain, string>,
            variables,
            x,
            labels,
            0.5,
            'closed-form'
          );
          const micro = clippedGradientSum(
            model,
            shape,
            undefined,
            variables,
            x,
            labels,
            0.5,
            'micro-batch'
          );
          assert.ok(maxAbsDifference(closed.norms, micro.norms) < 1e-5, 'norms differ');
          assert.ok(maxAbsDifference(closed.losses, micro.losses) < 1e-5, 'losses differ');
          closed.sums.forEach((sum, index) => {
            const difference = maxAbsDifference(sum, micro.sums[index]!);
            assert.ok(difference < 1e-5, `${variables[index]!.name} differs by ${difference}`);
          });
          // Clipping must have been active for some examples, or the test would not check it.
          assert.ok(Array.from(micro.norms).some((norm) => norm > 0.5));
        } finally {
          model.dispose();
          await initBackend('wasm');
        }
      });
    }
  }

  test('micro-batch gradients match tf.grads per example', () => {
    const model = createModel('mlp', { hidden: [5], inputShape: [6], seed: 9 });
    const { x, labels, shape } = randomBatch(model, 3, 4);
    const variables = trainableVariables(model);
    const result = clippedGradientSum(
      model,
      shape,
      undefined,
      variables,
      x,
      labels,
      1e9,
      'micro-batch'
    );
    const expected = variables.map((variable) => new Float32Array(variable.size));
    for (let i = 0; i < 3; i++) {
      tf.tidy(() => {
        const example = x.subarray(i * 6, (i + 1) * 6);
        const { grads } = tf.variableGrads(
          () =>
            tf.sum(
              forwardCrossEntropy(model, shape, example, labels.subarray(i, i + 1), true).losses
            ) as tf.Scalar,
          variables
        );
        variables.forEach((variable, index) => {
          const values = grads[variable.name]!.dataSync();
          const target = expected[index]!;
          for (let e = 0; e < target.length; e++) target[e] = target[e]! + values[e]!;
        });
      });
    }
    result.sums.forEach((sum, index) => {
      assert.ok(maxAbsDifference(sum, expected[index]!) < 1e-6);
    });
    model.dispose();
  });

  test('layer chain rejects unsupported layers', () => {
    const model = sequential('normalized', [
      tf.layers.dense({ inputShape: [4], units: 3 }),
      tf.layers.batchNormalization(),
      tf.layers.dense({ units: 2, activation: 'softmax' }),
    ]);
    const chain = describeLayerChain(model);
    assert.equal(typeof chain, 'string');
    assert.match(chain as string, /BatchNormalization/);
    model.dispose();
  });
});

/**
 * Builds a model and an input whose per-example gradient has L2 norm exactly 5: a single dense layer with zero
 * weights gives uniform probabilities p = 0.1 over 10 classes, so the loss gradient with respect
 * to the logits is delta = p - onehot, with |delta|^2 = 0.9. The kernel gradient x^T delta and
 * the bias gradient delta have squared norm 0.9 (|x|^2 + 1), which is 25 for |x|^2 = 25/0.9 - 1.
 */
function normFiveSetup() {
  const model = createModel('mlp', { hidden: [], inputShape: [3], seed: 1 });
  setWeights(
    model,
    new Map([
      ['dense1/kernel', new Float32Array(30)],
      ['dense1/bias', new Float32Array(10)],
    ])
  );
  const x = Float32Array.from([Math.sqrt(25 / 0.9 - 1), 0, 0]);
  return { model, x };
}

/** Noise source that counts its calls and the values it changes. */
class CountingNoise implements GaussianNoise {
  calls = 0;
  values = 0;
  constructor(private readonly inner: GaussianNoise) {}
  addTo(values: Float32Array | Float64Array, standardDeviation: number): void {
    this.calls++;
    this.values += values.length;
    this.inner.addTo(values, standardDeviation);
  }
}

function flatten(weights: Map<string, Float32Array>, names: readonly string[]): Float64Array {
  const total = names.reduce((sum, name) => sum + weights.get(name)!.length, 0);
  const out = new Float64Array(total);
  let offset = 0;
  for (const name of names) {
    out.set(weights.get(name)!, offset);
    offset += weights.get(name)!.length;
  }
  return out;
}

describe('DpSgdTrainer', () => {
  test('clips a gradient of norm 5 to exactly C', () => {
    const { model, x } = normFiveSetup();
    const shape = describeClassifier(model);
    const variables = trainableVariables(model);
    const chain = describeLayerChain(model);
    for (const method of ['closed-form', 'micro-batch'] as const) {
      for (const clipNorm of [0.5, 1, 2]) {
        const result = clippedGradientSum(
          model,
          shape,
          method === 'closed-form' ? (chain as Exclude<typeof chain, string>) : undefined,
          variables,
          x,
          Uint8Array.of(3),
          clipNorm,
          method
        );
        assert.ok(Math.abs(result.norms[0]! - 5) < 1e-5, `${method}: norm ${result.norms[0]}`);
        let squared = 0;
        for (const sum of result.sums) for (const value of sum) squared += value * value;
        const clipped = Math.sqrt(squared);
        assert.ok(Math.abs(clipped - clipNorm) < 1e-6, `${method}: clipped norm ${clipped}`);
      }
    }
    model.dispose();
  });

  test('leaves a gradient below C unclipped', () => {
    const { model, x } = normFiveSetup();
    const shape = describeClassifier(model);
    const result = clippedGradientSum(
      model,
      shape,
      describeLayerChain(model) as Exclude<ReturnType<typeof describeLayerChain>, string>,
      trainableVariables(model),
      x,
      Uint8Array.of(3),
      6,
      'closed-form'
    );
    let squared = 0;
    for (const sum of result.sums) for (const value of sum) squared += value * value;
    assert.ok(Math.abs(Math.sqrt(squared) - 5) < 1e-5);
    model.dispose();
  });

  test('sigma 0 gives the mean of clipped gradients', () => {
    const model = createModel('lenet', { hidden: [6], seed: 5, inputShape: [12, 12, 1] });
    const { x, labels, shape } = randomBatch(model, 5, 3);
    const variables = trainableVariables(model);
    const names = trainableNames(model);
    const before = getWeights(model);
    const clipNorm = 0.3;

    // Reference: one tf.variableGrads per example, clipped and averaged here.
    const expected = variables.map((variable) => new Float64Array(variable.size));
    const norms: number[] = [];
    for (let i = 0; i < 5; i++) {
      const example = x.subarray(i * shape.inputSize, (i + 1) * shape.inputSize);
      const gradients = tf.tidy(() => {
        const { grads } = tf.variableGrads(
          () =>
            tf.sum(
              forwardCrossEntropy(model, shape, example, labels.subarray(i, i + 1), true).losses
            ) as tf.Scalar,
          variables
        );
        return variables.map((variable) => grads[variable.name]!);
      });
      const values = gradients.map((gradient) => gradient.dataSync());
      gradients.forEach((gradient) => gradient.dispose());
      let squared = 0;
      for (const value of values) for (const element of value) squared += element * element;
      const norm = Math.sqrt(squared);
      norms.push(norm);
      const factor = Math.min(1, clipNorm / norm);
      values.forEach((value, index) => {
        const target = expected[index]!;
        for (let e = 0; e < target.length; e++) target[e] = target[e]! + (factor * value[e]!) / 5;
      });
    }
    assert.ok(
      norms.some((norm) => norm > clipNorm),
      'no example was clipped'
    );

    const trainer = new DpSgdTrainer(model, {
      learningRate: 0.5,
      expectedBatchSize: 5,
      clipNorm,
      noiseMultiplier: 0,
    });
    trainer.trainStep(x, labels, 5);
    const after = getWeights(model);
    names.forEach((name, index) => {
      const step = before.get(name)!.map((value, e) => (value - after.get(name)![e]!) / 0.5);
      assert.ok(maxAbsDifference(step, expected[index]!) < 1e-5, `${name} differs`);
    });
    model.dispose();
  });

  test('matches plain SGD without clipping or noise', () => {
    const dpModel = createModel('mlp', { hidden: [16], seed: 8 });
    const plainModel = createModel('mlp', { hidden: [16], seed: 8 });
    const { x, labels } = randomBatch(dpModel, 8, 5);
    const dp = new DpSgdTrainer(dpModel, {
      learningRate: 0.1,
      expectedBatchSize: 8,
      clipNorm: 1e9,
      noiseMultiplier: 0,
    });
    const plain = new LocalTrainer(plainModel, { learningRate: 0.1, batchSize: 8 });
    const dpLoss = dp.trainStep(x, labels, 8);
    const plainLoss = plain.trainStep(x, labels, 8);
    assert.ok(Math.abs(dpLoss - plainLoss) < 1e-6);
    const dpWeights = getWeights(dpModel);
    for (const [name, values] of getWeights(plainModel)) {
      assert.ok(maxAbsDifference(values, dpWeights.get(name)!) < 1e-6, `${name} differs`);
    }
    plain.dispose();
    dpModel.dispose();
    plainModel.dispose();
  });

  test('adds noise of std sigma C / B once per step', () => {
    const model = createModel('mlp', { hidden: [64], seed: 2 });
    const { x, labels } = randomBatch(model, 4, 9);
    const names = trainableNames(model);
    const start = getWeights(model);
    const options = { learningRate: 2, expectedBatchSize: 4, clipNorm: 0.7 };

    // The same step without noise, from the same weights.
    new DpSgdTrainer(model, { ...options, noiseMultiplier: 0 }).trainStep(x, labels, 4);
    const noiseless = flatten(getWeights(model), names);
    setWeights(model, start);

    const counter = new CountingNoise(createSeededGaussianNoise(17));
    const trainer = new DpSgdTrainer(model, { ...options, noiseMultiplier: 1.3, noise: counter });
    trainer.trainStep(x, labels, 4);
    const noisy = flatten(getWeights(model), names);

    const parameterCount = noisy.length;
    assert.equal(counter.values, parameterCount, 'each coordinate gets noise exactly once');
    assert.equal(counter.calls, names.length, 'one call per variable');

    // Weight change from the noise alone: lr * N(0, (sigma C)^2) / B.
    let squares = 0;
    for (let e = 0; e < parameterCount; e++) {
      const noise = (noiseless[e]! - noisy[e]!) / options.learningRate;
      squares += noise * noise;
    }
    const std = Math.sqrt(squares / parameterCount);
    const expected = (1.3 * 0.7) / 4;
    assert.ok(Math.abs(std / expected - 1) < 0.05, `std ${std}, expected ${expected}`);
    model.dispose();
  });

  test('adds noise with the default secure source', () => {
    const model = createModel('mlp', { hidden: [32], seed: 6 });
    const before = flatten(getWeights(model), trainableNames(model));
    const trainer = new DpSgdTrainer(model, {
      learningRate: 1,
      expectedBatchSize: 10,
      clipNorm: 2,
      noiseMultiplier: 1,
    });
    // An empty batch: the step is the noise alone.
    trainer.trainStep(new Float32Array(0), new Uint8Array(0), 0);
    const after = flatten(getWeights(model), trainableNames(model));
    let squares = 0;
    for (let e = 0; e < after.length; e++) squares += (before[e]! - after[e]!) ** 2;
    const std = Math.sqrt(squares / after.length);
    assert.ok(Math.abs(std / 0.2 - 1) < 0.05, `std ${std}, expected 0.2`);
    model.dispose();
  });

  test('leaves weights unchanged on an empty batch without noise', () => {
    const model = createModel('mlp', { hidden: [8], seed: 3 });
    const before = getWeights(model);
    const trainer = new DpSgdTrainer(model, {
      learningRate: 1,
      expectedBatchSize: 4,
      clipNorm: 1,
      noiseMultiplier: 0,
    });
    const loss = trainer.trainStep(new Float32Array(0), new Uint8Array(0), 0);
    assert.ok(Number.isNaN(loss));
    for (const [name, values] of getWeights(model)) {
      assert.deepEqual(values, before.get(name));
    }
    model.dispose();
  });

  test('trains batches of varying size', () => {
    const model = createModel('mlp', { hidden: [8], inputShape: [5], seed: 4 });
    const trainer = new DpSgdTrainer(model, {
      learningRate: 0.1,
      expectedBatchSize: 3,
      clipNorm: 1,
      noiseMultiplier: 0.5,
      noise: createSeededGaussianNoise(1),
    });
    const sizes = [0, 2, 5];
    let call = 0;
    const result = trainer.trainSteps(() => {
      const size = sizes[call++]!;
      const batch = randomBatch(model, size, call);
      return { x: batch.x, y: batch.labels, size };
    }, 3);
    assert.equal(result.examples, 7);
    assert.ok(Number.isFinite(result.meanLoss));
    model.dispose();
  });

  test('uses the closed form for registered models', () => {
    for (const name of ['mlp', 'lenet', 'cifar-cnn'] as const) {
      const model = createModel(name);
      const trainer = new DpSgdTrainer(model, {
        learningRate: 0.1,
        expectedBatchSize: 4,
        clipNorm: 1,
        noiseMultiplier: 1,
      });
      assert.equal(trainer.method, 'closed-form', name);
      model.dispose();
    }
  });

  test('falls back to micro-batches for other layers', () => {
    const model = sequential('normalized', [
      tf.layers.dense({ inputShape: [4], units: 3 }),
      tf.layers.batchNormalization(),
      tf.layers.dense({ units: 2, activation: 'softmax' }),
    ]);
    const trainer = new DpSgdTrainer(model, {
      learningRate: 0.1,
      expectedBatchSize: 2,
      clipNorm: 1,
      noiseMultiplier: 0,
    });
    assert.equal(trainer.method, 'micro-batch');
    assert.match(trainer.fallbackReason ?? '', /BatchNormalization/);
    const loss = trainer.trainStep(
      Float32Array.from([1, 2, 3, 4, 4, 3, 2, 1]),
      Uint8Array.of(0, 1),
      2
    );
    assert.ok(Number.isFinite(loss));
    assert.throws(
      () =>
        new DpSgdTrainer(model, {
          learningRate: 0.1,
          expectedBatchSize: 2,
          clipNorm: 1,
          noiseMultiplier: 0,
          method: 'closed-form',
        }),
      InvalidOptionError
    );
    model.dispose();
  });

  test('leaks no tensors', () => {
    const model = createModel('lenet', { hidden: [4], seed: 1, inputShape: [12, 12, 1] });
    const trainer = new DpSgdTrainer(model, {
      learningRate: 0.1,
      expectedBatchSize: 3,
      clipNorm: 1,
      noiseMultiplier: 1,
      noise: createSeededGaussianNoise(2),
    });
    const { x, labels } = randomBatch(model, 3, 1);
    trainer.trainStep(x, labels, 3);
    const tensors = tf.memory().numTensors;
    for (let step = 0; step < 3; step++) trainer.trainStep(x, labels, 3);
    trainer.trainStep(new Float32Array(0), new Uint8Array(0), 0);
    assert.equal(tf.memory().numTensors, tensors);
    model.dispose();
  });

  test('rejects invalid options and batches', () => {
    const model = createModel('mlp', { hidden: [4], inputShape: [2], seed: 1 });
    const valid = { learningRate: 0.1, expectedBatchSize: 2, clipNorm: 1, noiseMultiplier: 1 };
    for (const [option, value] of [
      ['learningRate', 0],
      ['expectedBatchSize', -1],
      ['clipNorm', 0],
      ['clipNorm', Number.NaN],
      ['noiseMultiplier', -0.5],
      ['noiseMultiplier', Infinity],
    ] as const) {
      assert.throws(
        () => new DpSgdTrainer(model, { ...valid, [option]: value }),
        InvalidOptionError
      );
    }
    const trainer = new DpSgdTrainer(model, valid);
    assert.throws(
      () => trainer.trainStep(new Float32Array(2), new Uint8Array(1), -1),
      InvalidOptionError
    );
    assert.throws(
      () => trainer.trainStep(new Float32Array(3), new Uint8Array(1), 1),
      InvalidBatchError
    );
    assert.throws(
      () =>
        trainer.trainSteps(() => ({ x: new Float32Array(0), y: new Uint8Array(0), size: 0 }), 0),
      InvalidOptionError
    );
    model.dispose();
  });
});
