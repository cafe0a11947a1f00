import * as tf from '@tensorflow/tfjs';
import { InvalidOptionError, UnknownModelError } from './errors';

/** Options accepted by every model in the registry. */
export interface ModelOptions {
  /**
   * Widths of the hidden dense layers, input side first: the MLP's hidden layers, or the dense
   * layers between a CNN's flattened features and its output layer. Default [128].
   */
  readonly hidden?: readonly number[];
  /**
   * Seed for the weight initializers. The same seed gives bitwise identical initial weights in
   * every process. Without a seed, tfjs draws from `Math.random`.
   */
  readonly seed?: number;
  /**
   * Shape of one example, [height, width, channels] for images. The MLP flattens it. Default:
   * [28, 28, 1] (MNIST) for 'mlp' and 'lenet', [32, 32, 3] (CIFAR-10) for 'cifar-cnn'.
   */
  readonly inputShape?: readonly number[];
}

/** Flattened 28x28 grayscale image, as in MNIST. */
export const MLP_INPUT_SIZE = 784;
export const MLP_CLASS_COUNT = 10;
export const MLP_DEFAULT_HIDDEN: readonly number[] = [128];

const MNIST_SHAPE: readonly number[] = [28, 28, 1];
const CIFAR_SHAPE: readonly number[] = [32, 32, 3];

type ModelFactory = (options: ModelOptions) => tf.LayersModel;

const MODEL_FACTORIES = {
  mlp: createMlp,
  lenet: createLenet,
  'cifar-cnn': createCifarCnn,
} satisfies Record<string, ModelFactory>;

export type ModelName = keyof typeof MODEL_FACTORIES;

/** Names that `createModel` accepts. */
export const MODEL_NAMES = Object.keys(MODEL_FACTORIES) as readonly ModelName[];

/**
 * Builds a registered model architecture. Layers have explicit names, so tensor names such as
 * `dense1/kernel` are identical in every process. Every model ends in a separate layer named
 * `softmax`, so trainers can compute the loss from the logits before it. Trainers and
 * `evaluate` take flat example arrays and reshape them to the model's input shape.
 *
 * @throws UnknownModelError when `name` is not in `MODEL_NAMES` (checked at run time for names
 *   that come from configuration).
 * @throws InvalidOptionError for invalid hidden widths, seed or input shape.
 */
export function createModel(name: ModelName, options: ModelOptions = {}): tf.LayersModel {
  if (!Object.hasOwn(MODEL_FACTORIES, name)) {
    throw new UnknownModelError(String(name), MODEL_NAMES);
  }
  const factory: ModelFactory = MODEL_FACTORIES[name];
  return factory(options);
}

/**
 * Builds a multilayer perceptron (flattened input) → hidden... → 10 with ReLU hidden layers.
 * Dense layers are named `dense1` .. `denseN` from the input side, followed by the `softmax`
 * activation layer. The default input is 784 values, a flattened MNIST image.
 */
function createMlp(options: ModelOptions): tf.LayersModel {
  const hidden = options.hidden ?? MLP_DEFAULT_HIDDEN;
  validateHidden(hidden);
  if (options.seed !== undefined) validateSeed(options.seed);
  const inputSize =
    options.inputShape === undefined
      ? MLP_INPUT_SIZE
      : validateInputShape(options.inputShape, options.inputShape.length, 1).reduce(
          (size, dim) => size * dim,
          1
        );

  const input = tf.input({ shape: [inputSize], name: 'input' });
  const output = applyDenseHead(input, hidden, options.seed);
  return tf.model({ name: 'mlp', inputs: input, outputs: output });
}

/**
 * Builds a LeNet-style CNN for 28x28 grayscale digits: conv1 (32 filters 5x5, 'same') → 2x2 max
 * pool → conv2 (64 filters 5x5, 'valid') → 2x2 max pool → flatten → hidden dense layers → 10.
 * Convolutions and hidden layers use ReLU. For MNIST the flattened features are 5x5x64 = 1600.
 */
function createLenet(options: ModelOptions): tf.LayersModel {
  const hidden = options.hidden ?? MLP_DEFAULT_HIDDEN;
  validateHidden(hidden);
  if (options.seed !== undefined) validateSeed(options.seed);
  // The smallest side that leaves at least one pixel after conv2 and both pools.
  const inputShape = validateInputShape(options.inputShape ?? MNIST_SHAPE, 3, 12);

  const input = tf.input({ shape: [...inputShape], name: 'input' });
  let features = applyConvolution(input, 'conv1', 32, 5, 'same', options.seed);
  features = applyMaxPool(features, 'pool1');
  features = applyConvolution(features, 'conv2', 64, 5, 'valid', options.seed);
  features = applyMaxPool(features, 'pool2');
  const flat = tf.layers.flatten({ name: 'flatten' }).apply(features) as tf.SymbolicTensor;
  const output = applyDenseHead(flat, hidden, options.seed);
  return tf.model({ name: 'lenet', inputs: input, outputs: output });
}

/**
 * Builds a small CNN for 32x32 color images: three blocks of a 3x3 'same' convolution (32, 64
 * and 64 filters, ReLU) and a 2x2 max pool, then flatten (4x4x64 = 1024 for CIFAR-10) → hidden
 * dense layers → 10.
 */
function createCifarCnn(options: ModelOptions): tf.LayersModel {
  const hidden = options.hidden ?? MLP_DEFAULT_HIDDEN;
  validateHidden(hidden);
  if (options.seed !== undefined) validateSeed(options.seed);
  // Three 2x2 pools need at least 8 pixels per side.
  const inputShape = validateInputShape(options.inputShape ?? CIFAR_SHAPE, 3, 8);

  const input = tf.input({ shape: [...inputShape], name: 'input' });
  let features: tf.SymbolicTensor = input;
  [32, 64, 64].forEach((filters, index) => {
    features = applyConvolution(features, `conv${index + 1}`, filters, 3, 'same', options.seed);
    features = applyMaxPool(features, `pool${index + 1}`);
  });
  const flat = tf.layers.flatten({ name: 'flatten' }).apply(features) as tf.SymbolicTensor;
  const output = applyDenseHead(flat, hidden, options.seed);
  return tf.model({ name: 'cifar-cnn', inputs: input, outputs: output });
}

/**
 * Applies ReLU dense layers of the `hidden` widths, a linear output layer of
 * `MLP_CLASS_COUNT` units (named `dense1` .. `denseN`) and the `softmax` activation layer.
 */
function applyDenseHead(
  input: tf.SymbolicTensor,
  hidden: readonly number[],
  seed: number | undefined
): tf.SymbolicTensor {
  const widths = [...hidden, MLP_CLASS_COUNT];
  let output = input;
  widths.forEach((units, index) => {
    const layerName = `dense${index + 1}`;
    const isOutput = index === widths.length - 1;
    const layer = tf.layers.dense({
      name: layerName,
      units,
      activation: isOutput ? 'linear' : 'relu',
      kernelInitializer: glorotUniform(seed, layerName),
      biasInitializer: 'zeros',
    });
    output = layer.apply(output) as tf.SymbolicTensor;
  });
  const probabilities = tf.layers.activation({ name: 'softmax', activation: 'softmax' });
  return probabilities.apply(output) as tf.SymbolicTensor;
}

function applyConvolution(
  input: tf.SymbolicTensor,
  name: string,
  filters: number,
  kernelSize: number,
  padding: 'same' | 'valid',
  seed: number | undefined
): tf.SymbolicTensor {
  const layer = tf.layers.conv2d({
    name,
    filters,
    kernelSize,
    padding,
    activation: 'relu',
    kernelInitializer: glorotUniform(seed, name),
    biasInitializer: 'zeros',
  });
  return layer.apply(input) as tf.SymbolicTensor;
}

function applyMaxPool(input: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  const layer = tf.layers.maxPooling2d({ name, poolSize: 2, strides: 2 });
  return layer.apply(input) as tf.SymbolicTensor;
}

function glorotUniform(
  seed: number | undefined,
  layerName: string
): ReturnType<typeof tf.initializers.glorotUniform> {
  return tf.initializers.glorotUniform(
    seed === undefined ? {} : { seed: deriveLayerSeed(seed, layerName) }
  );
}

/**
 * Checks that `shape` has `rank` positive integer dimensions and, for images, that height and
 * width are at least `minSide`. Returns the shape.
 */
function validateInputShape(
  shape: readonly number[],
  rank: number,
  minSide: number
): readonly number[] {
  const valid =
    Array.isArray(shape) &&
    shape.length === rank &&
    rank > 0 &&
    shape.every((dim) => Number.isSafeInteger(dim) && dim > 0) &&
    (rank !== 3 || Math.min(shape[0] ?? 0, shape[1] ?? 0) >= minSide);
  if (!valid) {
    const expected =
      rank === 3
        ? `[height, width, channels] of positive integers with height and width >= ${minSide}`
        : 'an array of positive integers';
    throw new InvalidOptionError('inputShape', shape, expected);
  }
  return shape;
}

function validateHidden(hidden: readonly number[]): void {
  if (
    !Array.isArray(hidden) ||
    !hidden.every((units) => Number.isSafeInteger(units) && units > 0)
  ) {
    throw new InvalidOptionError('hidden', hidden, 'an array of positive integers');
  }
}

function validateSeed(seed: number): void {
  if (!Number.isSafeInteger(seed)) {
    throw new InvalidOptionError('seed', seed, 'a safe integer');
  }
}

/**
 * Derives a separate initializer seed for each layer (FNV-1a of "seed/layer"), so that layers of
 * equal shape do not start with equal weights and seeds n and n+1 do not share layers.
 */
function deriveLayerSeed(seed: number, layerName: string): number {
  let hash = 0x811c9dc5;
  for (const char of `${seed}/${layerName}`) {
    hash ^= char.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
