import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import type { ModelSpec, TensorMap, TensorSpec } from '@asyncfl/protocol';
import { shapeSize } from '@asyncfl/protocol';
import {
  DuplicateWeightNameError,
  ShapeMismatchError,
  UnsupportedDtypeError,
  WeightMissingError,
  WeightUnknownError,
} from './errors';

type LayerWeight = tf.LayersModel['weights'][number];

interface NamedWeight {
  readonly spec: TensorSpec;
  readonly weight: LayerWeight;
}

/**
 * Lists the model's weights by their stable names. tfjs gives every variable a `name` with a
 * process-wide counter suffix (`dense1/kernel_1`), so the name used here is `originalName`,
 * which is stable as long as the layers have explicit names.
 */
function namedWeights(model: tf.LayersModel): NamedWeight[] {
  const seen = new Set<string>();
  return model.weights.map((weight) => {
    const name = weight.originalName;
    if (seen.has(name)) throw new DuplicateWeightNameError(name);
    seen.add(name);
    if (weight.dtype !== 'float32') throw new UnsupportedDtypeError(name, weight.dtype);
    const spec: TensorSpec = {
      name,
      // The variable's shape is always concrete, unlike the layer-level `weight.shape` type.
      shape: [...weight.read().shape],
      dtype: 'float32',
      trainable: weight.trainable,
    };
    return { spec, weight };
  });
}

/**
 * Describes every weight of the model, trainable or not, in the model's own order.
 *
 * @throws DuplicateWeightNameError when two weights share a name.
 * @throws UnsupportedDtypeError for a weight that is not float32.
 */
export function modelSpec(model: tf.LayersModel): ModelSpec {
  return namedWeights(model).map(({ spec }) => spec);
}

/**
 * Returns the hex SHA-256 of the spec's names, shapes, dtypes and trainable flags, sorted by name.
 * Two processes agree on the hash exactly when their models can exchange weights by name.
 */
export function architectureHash(spec: ModelSpec): string {
  const entries = [...spec]
    .sort(compareByName)
    .map((tensor) => [tensor.name, [...tensor.shape], tensor.dtype, tensor.trainable]);
  return createHash('sha256').update(JSON.stringify(entries)).digest('hex');
}

/** Orders by UTF-16 code units, which unlike `localeCompare` does not depend on the locale. */
function compareByName(a: TensorSpec, b: TensorSpec): number {
  if (a.name < b.name) return -1;
  if (a.name > b.name) return 1;
  return 0;
}

/** Copies every weight of the model into a new Float32Array, keyed by its stable name. */
export function getWeights(model: tf.LayersModel): TensorMap {
  const weights: TensorMap = new Map();
  for (const { spec, weight } of namedWeights(model)) {
    // Copy, because the CPU backend's dataSync returns its own storage.
    weights.set(spec.name, new Float32Array(weight.read().dataSync()));
  }
  return weights;
}

/**
 * Replaces every weight of the model with the values of the same name. All names and lengths are
 * checked before any weight changes, and the values are copied, so the caller may reuse the arrays.
 *
 * @throws WeightUnknownError for a name that the model does not have.
 * @throws WeightMissingError for a model weight that `weights` lacks.
 * @throws ShapeMismatchError for values whose length differs from the weight's element count.
 */
export function setWeights(model: tf.LayersModel, weights: TensorMap): void {
  const targets = namedWeights(model);
  const modelNames = new Set(targets.map(({ spec }) => spec.name));
  for (const name of weights.keys()) {
    if (!modelNames.has(name)) throw new WeightUnknownError(name);
  }
  const updates = targets.map(({ spec, weight }) => {
    const values = weights.get(spec.name);
    if (values === undefined) {
      throw new WeightMissingError(spec.name, targets.length, weights.size);
    }
    if (values.length !== shapeSize(spec.shape)) {
      throw new ShapeMismatchError(spec.name, spec.shape, values.length);
    }
    return { spec, weight, values };
  });

  tf.tidy(() => {
    for (const { spec, weight, values } of updates) {
      // The CPU backend keeps the array that a tensor is created from, hence the copy. The
      // variable takes a reference to the new data, so tidy disposing the tensor frees nothing.
      weight.write(tf.tensor(values.slice(), [...spec.shape], 'float32'));
    }
  });
}
