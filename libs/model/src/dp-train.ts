import * as tf from '@tensorflow/tfjs';
import { createSecureGaussianNoise, type GaussianNoise } from '@asyncfl/privacy';
import type { ClassifierShape } from './classifier';
import { describeClassifier, validateBatch } from './classifier';
import { InvalidOptionError } from './errors';
import {
  clippedGradientSum,
  describeLayerChain,
  type LayerChain,
  type PerExampleMethod,
} from './per-example';
import type { Batch, TrainStepsResult } from './train';

export interface DpTrainerOptions {
  /** SGD step size. Must be finite and > 0. */
  readonly learningRate: number;
  /**
   * Expected examples per step: the divisor of the noisy gradient sum. Under Poisson sampling
   * with rate q from n examples it is q * n, whatever size each batch turns out to have.
   */
  readonly expectedBatchSize: number;
  /** L2 bound C on each example's gradient over all trainable variables. Must be > 0. */
  readonly clipNorm: number;
  /** Noise standard deviation in units of C. 0 turns the noise off (no privacy). */
  readonly noiseMultiplier: number;
  /** Noise source. Defaults to `createSecureGaussianNoise()`. */
  readonly noise?: GaussianNoise;
  /**
   * 'auto' (the default) uses the closed form when every layer with weights is a Dense or a
   * channels-last, undilated Conv2D layer in a chain, and the micro-batch method otherwise.
   */
  readonly method?: PerExampleMethod | 'auto';
}

/**
 * Trains a softmax classifier in place with DP-SGD (Abadi et al., "Deep Learning with
 * Differential Privacy", CCS 2016, arXiv:1607.00133). Each example's gradient over all
 * trainable variables is clipped to L2 norm C, and the clipped gradients are summed. Gaussian
 * noise of standard deviation sigma * C is added to the sum once, and the result is divided by
 * the expected batch size before the SGD step. Steps take batches of any size, the empty batch
 * included, as Poisson sampling produces them.
 *
 * The trainer does no privacy accounting: the caller records each step with the sampling rate
 * and noise multiplier in an accountant.
 */
export class DpSgdTrainer {
  readonly learningRate: number;
  readonly expectedBatchSize: number;
  readonly clipNorm: number;
  readonly noiseMultiplier: number;
  /** Per-example method in use. */
  readonly method: PerExampleMethod;
  /** Reason that the closed form does not apply, when 'auto' chose 'micro-batch'. */
  readonly fallbackReason: string | undefined;
  private readonly model: tf.LayersModel;
  private readonly shape: ClassifierShape;
  private readonly chain: LayerChain | undefined;
  private readonly variables: tf.Variable[];
  private readonly noise: GaussianNoise;

  /**
   * @throws InvalidOptionError for a learning rate, clip norm or expected batch size that is not
   *   finite and > 0, a noise multiplier that is not finite and >= 0, or 'closed-form' for a
   *   model without a closed form.
   * @throws UnsupportedModelError when the model is not a single-input softmax classifier.
   */
  constructor(model: tf.LayersModel, options: DpTrainerOptions) {
    const { learningRate, expectedBatchSize, clipNorm, noiseMultiplier } = options;
    requirePositive('learningRate', learningRate);
    requirePositive('expectedBatchSize', expectedBatchSize);
    requirePositive('clipNorm', clipNorm);
    if (!(Number.isFinite(noiseMultiplier) && noiseMultiplier >= 0)) {
      throw new InvalidOptionError('noiseMultiplier', noiseMultiplier, 'a finite number >= 0');
    }
    this.learningRate = learningRate;
    this.expectedBatchSize = expectedBatchSize;
    this.clipNorm = clipNorm;
    this.noiseMultiplier = noiseMultiplier;
    this.model = model;
    this.shape = describeClassifier(model);
    this.variables = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
    this.noise = options.noise ?? createSecureGaussianNoise();

    const requested = options.method ?? 'auto';
    const chain = describeLayerChain(model);
    if (typeof chain === 'string') {
      if (requested === 'closed-form') {
        throw new InvalidOptionError('method', requested, `'micro-batch' for this model: ${chain}`);
      }
      this.chain = undefined;
      this.method = 'micro-batch';
      this.fallbackReason = requested === 'auto' ? chain : undefined;
    } else {
      this.chain = chain;
      this.method = requested === 'auto' ? 'closed-form' : requested;
      this.fallbackReason = undefined;
    }
  }

  /**
   * Runs one DP-SGD step on `batchSize` examples (0 allowed) and returns their mean loss before
   * the update, or NaN for an empty batch.
   *
   * @throws InvalidOptionError when `batchSize` is not a non-negative integer.
   * @throws InvalidBatchError when `x` or `labels` does not contain `batchSize` examples.
   * @throws LabelOutOfRangeError for a label that is not a class index.
   */
  trainStep(x: Float32Array, labels: Uint8Array, batchSize: number): number {
    if (!Number.isSafeInteger(batchSize) || batchSize < 0) {
      throw new InvalidOptionError('batchSize', batchSize, 'a non-negative integer');
    }
    validateBatch(this.shape, x, labels, batchSize);

    let sums: Float32Array[];
    let meanLoss = Number.NaN;
    if (batchSize === 0) {
      sums = this.variables.map((variable) => new Float32Array(variable.size));
    } else {
      const clipped = clippedGradientSum(
        this.model,
        this.shape,
        this.chain,
        this.variables,
        x,
        labels,
        this.clipNorm,
        this.method
      );
      sums = clipped.sums;
      meanLoss = clipped.losses.reduce((total, loss) => total + loss, 0) / batchSize;
    }
    this.applyNoisyStep(sums);
    return meanLoss;
  }

  /**
   * Runs `steps` DP-SGD steps on batches from `nextBatch`, and returns the example-weighted mean
   * loss (NaN when every batch was empty) and the number of examples seen.
   *
   * @throws InvalidOptionError when `steps` is not a positive integer.
   */
  trainSteps(nextBatch: () => Batch, steps: number): TrainStepsResult {
    if (!Number.isSafeInteger(steps) || steps < 1) {
      throw new InvalidOptionError('steps', steps, 'a positive integer');
    }
    let lossSum = 0;
    let examples = 0;
    for (let step = 0; step < steps; step++) {
      const batch = nextBatch();
      const loss = this.trainStep(batch.x, batch.y, batch.size);
      if (batch.size > 0) lossSum += loss * batch.size;
      examples += batch.size;
    }
    return { meanLoss: examples > 0 ? lossSum / examples : Number.NaN, examples };
  }

  /** Does nothing, because the trainer owns no tensors. It keeps the `LocalTrainer` interface. */
  dispose(): void {}

  /** Adds N(0, (sigma C)^2) to each summed coordinate, divides by B and takes the SGD step. */
  private applyNoisyStep(sums: Float32Array[]): void {
    const standardDeviation = this.noiseMultiplier * this.clipNorm;
    for (const sum of sums) this.noise.addTo(sum, standardDeviation);
    const scale = this.learningRate / this.expectedBatchSize;
    tf.tidy(() => {
      this.variables.forEach((variable, index) => {
        const step = tf.tensor(sums[index]!, variable.shape, 'float32');
        variable.assign(tf.sub(variable, tf.mul(step, scale)));
      });
    });
  }
}

function requirePositive(option: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidOptionError(option, value, 'a finite number > 0');
  }
}
