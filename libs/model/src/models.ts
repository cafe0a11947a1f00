import * as tf from '@tensorflow/tfjs';
import { InvalidOptionError, UnknownModelError } from './errors';

/** Options accepted by every model in the registry. */
export interface ModelOptions {
  /** Hidden layer widths of the MLP, input side first. Default [128]. */
  readonly hidden?: readonly number[];
  /**
   * Seed for the weight initializers. The same seed gives bitwise identical initial weights in
   * every process. Without a seed, tfjs draws from `Math.random`.
   */
  readonly seed?: number;
}

/** Flattened 28x28 grayscale image, as in MNIST. */
export const MLP_INPUT_SIZE = 784;
export const MLP_CLASS_COUNT = 10;
export const MLP_DEFAULT_HIDDEN: readonly number[] = [128];

type ModelFactory = (options: ModelOptions) => tf.LayersModel;

const MODEL_FACTORIES = {
  mlp: createMlp,
} satisfies Record<string, ModelFactory>;

export type ModelName = keyof typeof MODEL_FACTORIES;

/** Names that `createModel` accepts. */
export const MODEL_NAMES = Object.keys(MODEL_FACTORIES) as readonly ModelName[];

/**
 * Builds a registered model architecture. Layers have explicit names, so tensor names such as
 * `dense1/kernel` are identical in every process. Every model ends in a separate layer named
 * `softmax`, so trainers can compute the loss from the logits before it.
 *
 * @throws UnknownModelError when `name` is not in `MODEL_NAMES` (checked at run time for names
 *   that come from configuration).
 * @throws InvalidOptionError for invalid hidden widths or seed.
 */
export function createModel(name: ModelName, options: ModelOptions = {}): tf.LayersModel {
  if (!Object.hasOwn(MODEL_FACTORIES, name)) {
    throw new UnknownModelError(String(name), MODEL_NAMES);
  }
  const factory: ModelFactory = MODEL_FACTORIES[name];
  return factory(options);
}

/**
 * Builds a multilayer perceptron 784 → hidden... → 10 with ReLU hidden layers. Dense layers are
 * named `dense1` .. `denseN` from the input side, followed by the `softmax` activation layer.
 */
function createMlp(options: ModelOptions): tf.LayersModel {
  const hidden = options.hidden ?? MLP_DEFAULT_HIDDEN;
  validateHidden(hidden);
  if (options.seed !== undefined) validateSeed(options.seed);

  const input = tf.input({ shape: [MLP_INPUT_SIZE], name: 'input' });
  const widths = [...hidden, MLP_CLASS_COUNT];
  let output = input;
  widths.forEach((units, index) => {
    const layerName = `dense${index + 1}`;
    const isOutput = index === widths.length - 1;
    const layer = tf.layers.dense({
      name: layerName,
      units,
      activation: isOutput ? 'linear' : 'relu',
      kernelInitializer: tf.initializers.glorotUniform(
        options.seed === undefined ? {} : { seed: deriveLayerSeed(options.seed, layerName) }
      ),
      biasInitializer: 'zeros',
    });
    output = layer.apply(output) as tf.SymbolicTensor;
  });
  const probabilities = tf.layers.activation({ name: 'softmax', activation: 'softmax' });
  output = probabilities.apply(output) as tf.SymbolicTensor;
  return tf.model({ name: 'mlp', inputs: input, outputs: output });
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
