import * as tf from '@tensorflow/tfjs';
import { describeClassifier, forwardCrossEntropy, validateBatch } from './classifier';
import { InvalidBatchError, InvalidOptionError } from './errors';

export interface EvaluateOptions {
  /** Examples per forward pass. Default 256. Larger batches use more memory, not more accuracy. */
  readonly batchSize?: number;
}

export interface EvaluationResult {
  /** Mean softmax cross-entropy over all examples. */
  readonly loss: number;
  /** Share of examples whose label has the largest output. */
  readonly top1: number;
  /** Share of examples whose label is among the 5 largest outputs (1 for 5 or fewer classes). */
  readonly top5: number;
  readonly count: number;
}

const DEFAULT_EVALUATION_BATCH_SIZE = 256;

/**
 * Evaluates a softmax classifier on flattened images with integer labels, in batches.
 *
 * An example counts as a top-k hit when fewer than k classes score strictly higher than its
 * label, so ties at the boundary count in the label's favor, and a label with a non-finite score
 * never counts (both as in TensorFlow's `tf.math.in_top_k`).
 * Scores are the logits when the model ends in a separate softmax layer, so probabilities that
 * round to equal float32 values do not create ties.
 *
 * @throws InvalidBatchError when `images` and `labels` disagree in length or are empty.
 * @throws LabelOutOfRangeError for a label that is not a class index.
 * @throws InvalidOptionError for a batch size that is not a positive integer.
 * @throws UnsupportedModelError when the model is not a single-input softmax classifier.
 */
export function evaluate(
  model: tf.LayersModel,
  images: Float32Array,
  labels: Uint8Array,
  options: EvaluateOptions = {}
): EvaluationResult {
  const batchSize = options.batchSize ?? DEFAULT_EVALUATION_BATCH_SIZE;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new InvalidOptionError('batchSize', batchSize, 'a positive integer');
  }
  const shape = describeClassifier(model);
  const count = labels.length;
  if (count === 0) {
    throw new InvalidBatchError('labels', 1, 0, 'evaluation needs at least one example');
  }
  validateBatch(shape, images, labels, count);

  let lossSum = 0;
  let top1Hits = 0;
  let top5Hits = 0;
  for (let start = 0; start < count; start += batchSize) {
    const end = Math.min(start + batchSize, count);
    const batchImages = images.subarray(start * shape.inputSize, end * shape.inputSize);
    const batchLabels = labels.subarray(start, end);
    const sums = tf.tidy(() => {
      const { losses, scores } = forwardCrossEntropy(model, shape, batchImages, batchLabels, false);
      const higherCounts = countHigherScores(scores, batchLabels, shape.classCount);
      return tf.stack([tf.sum(losses), countHits(higherCounts, 1), countHits(higherCounts, 5)]);
    });
    try {
      const [batchLoss = Number.NaN, batchTop1 = 0, batchTop5 = 0] = sums.dataSync();
      lossSum += batchLoss;
      top1Hits += batchTop1;
      top5Hits += batchTop5;
    } finally {
      sums.dispose();
    }
  }
  return { loss: lossSum / count, top1: top1Hits / count, top5: top5Hits / count, count };
}

/**
 * Counts, per example, the classes whose score is strictly greater than the label's score. The
 * count is the class count when the label's score is not finite, so such examples never hit.
 */
function countHigherScores(
  scores: tf.Tensor2D,
  labels: Uint8Array,
  classCount: number
): tf.Tensor1D {
  const isLabel = tf.cast(
    tf.oneHot(tf.tensor1d(Int32Array.from(labels), 'int32'), classCount),
    'bool'
  );
  // where() rather than a product with the one-hot mask, because 0 * -Infinity is NaN.
  const labelScores = tf.max(tf.where(isLabel, scores, tf.fill(scores.shape, -Infinity)), 1, true);
  const higher = tf.sum(tf.cast(tf.greater(scores, labelScores), 'int32'), 1);
  const isFinite = tf.isFinite(tf.squeeze(labelScores, [1]));
  return tf.where(isFinite, higher, tf.fill(higher.shape, classCount, 'int32')) as tf.Tensor1D;
}

/** Returns the number of examples with fewer than `k` higher-scoring classes, as a float scalar. */
function countHits(higherCounts: tf.Tensor1D, k: number): tf.Scalar {
  return tf.sum(tf.cast(tf.less(higherCounts, k), 'float32'));
}
