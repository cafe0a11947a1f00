import * as tf from '@tensorflow/tfjs';
import { InvalidBatchError, LabelOutOfRangeError, UnsupportedModelError } from './errors';

/**
 * Lower bound for probabilities before the logarithm, as in Keras' categorical cross-entropy.
 * Used only for models whose softmax is fused into another layer.
 */
const PROBABILITY_EPSILON = 1e-7;

/** Input and output facts of a single-input softmax classifier. */
export interface ClassifierShape {
  /** Input shape without the batch dimension. */
  readonly inputShape: readonly number[];
  /** Elements per example: the product of `inputShape`. */
  readonly inputSize: number;
  readonly classCount: number;
  /**
   * Model from the input to the logits before the final softmax, sharing the original's layers.
   * Undefined when the softmax is the activation of a layer with weights, such as a Dense layer
   * with `activation: 'softmax'`.
   */
  readonly logitsModel: tf.LayersModel | undefined;
}

/**
 * Checks that the model has one input of fixed shape and one softmax output over classes.
 *
 * @throws UnsupportedModelError otherwise.
 */
export function describeClassifier(model: tf.LayersModel): ClassifierShape {
  const [input, ...otherInputs] = model.inputs;
  const [output, ...otherOutputs] = model.outputs;
  if (input === undefined || output === undefined || otherInputs.length + otherOutputs.length > 0) {
    throw new UnsupportedModelError(
      model.name,
      `expected one input and one output, found ${model.inputs.length} and ${model.outputs.length}`
    );
  }

  const inputShape = input.shape.slice(1);
  if (!inputShape.every((dim): dim is number => typeof dim === 'number' && dim > 0)) {
    throw new UnsupportedModelError(
      model.name,
      `input shape [${input.shape.join(',')}] must be fixed apart from the batch dimension`
    );
  }
  const classCount = output.shape[output.shape.length - 1];
  if (output.shape.length !== 2 || typeof classCount !== 'number' || classCount < 1) {
    throw new UnsupportedModelError(
      model.name,
      `output shape [${output.shape.join(',')}] must be [batch, classes]`
    );
  }

  const outputLayer = output.sourceLayer;
  const activation = outputLayer.getConfig()['activation'];
  if (activation !== 'softmax') {
    throw new UnsupportedModelError(
      model.name,
      `the output layer '${outputLayer.name}' must apply a softmax, found ${String(activation)}`
    );
  }
  let logitsModel: tf.LayersModel | undefined;
  const [softmaxInput] = output.inputs;
  if (outputLayer.getClassName() === 'Activation' && softmaxInput !== undefined) {
    logitsModel = tf.model({ inputs: input, outputs: softmaxInput });
  }

  const inputSize = inputShape.reduce((size, dim) => size * dim, 1);
  return { inputShape, inputSize, classCount, logitsModel };
}

/**
 * Checks a flat batch against the classifier's input size and class count.
 *
 * @throws InvalidBatchError when `x` or `labels` does not contain `batchSize` examples.
 * @throws LabelOutOfRangeError for a label that is not a class index.
 */
export function validateBatch(
  shape: ClassifierShape,
  x: Float32Array,
  labels: Uint8Array,
  batchSize: number
): void {
  const expectedInputs = batchSize * shape.inputSize;
  if (x.length !== expectedInputs) {
    throw new InvalidBatchError(
      'x',
      expectedInputs,
      x.length,
      `${batchSize} examples of ${shape.inputSize} values`
    );
  }
  if (labels.length !== batchSize) {
    throw new InvalidBatchError('labels', batchSize, labels.length, `one label per example`);
  }
  const invalidIndex = labels.findIndex((label) => label >= shape.classCount);
  if (invalidIndex >= 0) {
    throw new LabelOutOfRangeError(invalidIndex, labels[invalidIndex] ?? -1, shape.classCount);
  }
}

/** Outputs of a forward pass: per-example loss and a score per class for ranking. */
export interface ForwardResult {
  /** Cross-entropy of each example, shape [batch]. */
  readonly losses: tf.Tensor1D;
  /** Logits when available, otherwise probabilities, shape [batch, classes]. */
  readonly scores: tf.Tensor2D;
}

/**
 * Runs the model on a flat batch and computes the softmax cross-entropy of integer labels. Call it
 * inside `tf.tidy`: the intermediate tensors are not disposed here.
 */
export function forwardCrossEntropy(
  model: tf.LayersModel,
  shape: ClassifierShape,
  x: Float32Array,
  labels: Uint8Array,
  training: boolean
): ForwardResult {
  const batchSize = labels.length;
  const inputs = tf.tensor(x, [batchSize, ...shape.inputShape], 'float32');
  const oneHot = tf.oneHot(tf.tensor1d(Int32Array.from(labels), 'int32'), shape.classCount);

  if (shape.logitsModel !== undefined) {
    const logits = shape.logitsModel.apply(inputs, { training }) as tf.Tensor2D;
    const losses = tf.losses.softmaxCrossEntropy(
      oneHot,
      logits,
      undefined,
      undefined,
      tf.Reduction.NONE
    ) as tf.Tensor1D;
    return { losses, scores: logits };
  }

  const probabilities = model.apply(inputs, { training }) as tf.Tensor2D;
  const logProbabilities = tf.log(tf.clipByValue(probabilities, PROBABILITY_EPSILON, 1));
  const losses = tf.neg(tf.sum(tf.mul(oneHot, logProbabilities), 1)) as tf.Tensor1D;
  return { losses, scores: probabilities };
}
