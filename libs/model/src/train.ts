import * as tf from '@tensorflow/tfjs';
import type { ClassifierShape } from './classifier';
import { describeClassifier, forwardCrossEntropy, validateBatch } from './classifier';
import { InvalidOptionError } from './errors';

export interface TrainerOptions {
  /** SGD step size. Must be finite and > 0. */
  readonly learningRate: number;
  /** Maximum examples per step. A step may use fewer, e.g. at the end of a shard. */
  readonly batchSize: number;
}

/** One batch of flattened examples. `x` contains `size` rows of the model's input size. */
export interface Batch {
  readonly x: Float32Array;
  readonly y: Uint8Array;
  readonly size: number;
}

export interface TrainStepsResult {
  /** Mean loss over all examples of all steps, each measured before its update. */
  readonly meanLoss: number;
  readonly examples: number;
}

/**
 * Trains a softmax classifier in place with plain SGD on softmax cross-entropy of integer labels.
 * Only trainable weights are updated.
 */
export class LocalTrainer {
  readonly learningRate: number;
  readonly batchSize: number;
  private readonly model: tf.LayersModel;
  private readonly shape: ClassifierShape;
  private readonly optimizer: tf.SGDOptimizer;
  private readonly variables: tf.Variable[];

  /**
   * @throws InvalidOptionError for a learning rate that is not finite and > 0, or a batch size
   *   that is not a positive integer.
   * @throws UnsupportedModelError when the model is not a single-input softmax classifier.
   */
  constructor(model: tf.LayersModel, options: TrainerOptions) {
    const { learningRate, batchSize } = options;
    if (typeof learningRate !== 'number' || !Number.isFinite(learningRate) || learningRate <= 0) {
      throw new InvalidOptionError('learningRate', learningRate, 'a finite number > 0');
    }
    validatePositiveInteger('batchSize', batchSize);
    this.learningRate = learningRate;
    this.batchSize = batchSize;
    this.model = model;
    this.shape = describeClassifier(model);
    this.variables = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
    // SGD keeps one scalar tensor (the learning rate) for its lifetime and no per-step state.
    this.optimizer = tf.train.sgd(learningRate);
  }

  /**
   * Runs one SGD step on `batchSize` examples and returns their mean loss before the update.
   *
   * @throws InvalidOptionError when `batchSize` is not an integer in 1..`this.batchSize`.
   * @throws InvalidBatchError when `x` or `labels` does not contain `batchSize` examples.
   * @throws LabelOutOfRangeError for a label that is not a class index.
   */
  trainStep(x: Float32Array, labels: Uint8Array, batchSize: number): number {
    validatePositiveInteger('batchSize', batchSize, this.batchSize);
    validateBatch(this.shape, x, labels, batchSize);

    const cost = tf.tidy(() => {
      const mean = this.optimizer.minimize(
        () => tf.mean(forwardCrossEntropy(this.model, this.shape, x, labels, true).losses),
        true,
        this.variables
      );
      // minimize returns the cost when asked to, so null would be a tfjs bug.
      if (mean === null) throw new Error('tf.Optimizer.minimize returned no cost');
      return mean;
    });
    try {
      return cost.dataSync()[0] ?? Number.NaN;
    } finally {
      cost.dispose();
    }
  }

  /**
   * Runs `steps` SGD steps on batches from `nextBatch`, and returns the example-weighted mean loss
   * and the number of examples seen.
   *
   * @throws InvalidOptionError when `steps` is not a positive integer or a batch size is invalid.
   */
  trainSteps(nextBatch: () => Batch, steps: number): TrainStepsResult {
    validatePositiveInteger('steps', steps);
    let lossSum = 0;
    let examples = 0;
    for (let step = 0; step < steps; step++) {
      const batch = nextBatch();
      const loss = this.trainStep(batch.x, batch.y, batch.size);
      lossSum += loss * batch.size;
      examples += batch.size;
    }
    return { meanLoss: lossSum / examples, examples };
  }

  /** Releases the optimizer's learning-rate tensor. The model stays usable. */
  dispose(): void {
    this.optimizer.dispose();
  }
}

function validatePositiveInteger(
  option: string,
  value: number,
  max = Number.MAX_SAFE_INTEGER
): void {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    const expected =
      max === Number.MAX_SAFE_INTEGER ? 'a positive integer' : `an integer from 1 to ${max}`;
    throw new InvalidOptionError(option, value, expected);
  }
}
