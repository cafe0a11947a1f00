import type { ModelSpec, TensorMap } from '@asyncfl/protocol';
import { InvalidModelError, formatValue } from './errors';

/**
 * Model spec resolved into parallel arrays indexed by spec position, so that hot paths index
 * arrays instead of looking names up in maps.
 */
export interface ModelLayout {
  readonly names: readonly string[];
  readonly sizes: readonly number[];
  readonly shapes: readonly (readonly number[])[];
  readonly trainable: readonly boolean[];
  readonly indexByName: ReadonlyMap<string, number>;
  readonly trainableIndices: readonly number[];
  readonly nonTrainableIndices: readonly number[];
  /** Element count of the largest trainable tensor, 0 when none is trainable. */
  readonly maxTrainableSize: number;
  /** Element count of the largest non-trainable tensor, 0 when every tensor is trainable. */
  readonly maxNonTrainableSize: number;
}

/** Validates a model spec and resolves it into a layout. Throws InvalidModelError. */
export function createLayout(spec: ModelSpec): ModelLayout {
  if (!Array.isArray(spec) || spec.length === 0) {
    throw new InvalidModelError(`model spec must be a non-empty array (got ${formatValue(spec)})`);
  }
  const names: string[] = [];
  const sizes: number[] = [];
  const shapes: number[][] = [];
  const trainable: boolean[] = [];
  const indexByName = new Map<string, number>();
  const trainableIndices: number[] = [];
  const nonTrainableIndices: number[] = [];
  let maxTrainableSize = 0;
  let maxNonTrainableSize = 0;

  for (const tensor of spec) {
    const name = tensor.name;
    if (typeof name !== 'string' || name === '') {
      throw new InvalidModelError(
        `tensor name must be a non-empty string (got ${formatValue(name)})`
      );
    }
    if (indexByName.has(name)) {
      throw new InvalidModelError(`model spec lists tensor '${name}' twice`, name);
    }
    const validShape =
      Array.isArray(tensor.shape) &&
      tensor.shape.every((dim: unknown) => Number.isSafeInteger(dim) && (dim as number) >= 0);
    if (!validShape) {
      const message = `tensor '${name}' shape must be an array of non-negative integers (got ${formatValue(tensor.shape)})`;
      throw new InvalidModelError(message, name);
    }
    if (tensor.dtype !== 'float32') {
      throw new InvalidModelError(
        `tensor '${name}' dtype must be 'float32' (got ${formatValue(tensor.dtype)})`,
        name
      );
    }
    if (typeof tensor.trainable !== 'boolean') {
      throw new InvalidModelError(
        `tensor '${name}' trainable must be true or false (got ${formatValue(tensor.trainable)})`,
        name
      );
    }
    const index = names.length;
    const size = elementCount(tensor.shape);
    names.push(name);
    sizes.push(size);
    shapes.push([...tensor.shape]);
    trainable.push(tensor.trainable);
    indexByName.set(name, index);
    if (tensor.trainable) {
      trainableIndices.push(index);
      maxTrainableSize = Math.max(maxTrainableSize, size);
    } else {
      nonTrainableIndices.push(index);
      maxNonTrainableSize = Math.max(maxNonTrainableSize, size);
    }
  }
  return {
    names,
    sizes,
    shapes,
    trainable,
    indexByName,
    trainableIndices,
    nonTrainableIndices,
    maxTrainableSize,
    maxNonTrainableSize,
  };
}

/**
 * Copies the initial weights into arrays indexed by spec position. Every spec tensor must be
 * present with the spec's element count, and no other tensor may be present.
 */
export function copyInitialWeights(layout: ModelLayout, initial: TensorMap): Float32Array[] {
  if (!(initial instanceof Map)) {
    throw new InvalidModelError(`initial weights must be a Map (got ${formatValue(initial)})`);
  }
  for (const name of initial.keys()) {
    if (!layout.indexByName.has(name)) {
      throw new InvalidModelError(
        `initial weights contain tensor '${name}', which the model spec lacks`,
        name
      );
    }
  }
  return layout.names.map((name, index) => {
    const values = initial.get(name);
    const size = layout.sizes[index] ?? 0;
    if (!(values instanceof Float32Array)) {
      throw new InvalidModelError(
        `initial weights must contain tensor '${name}' as a Float32Array (got ${formatValue(values)})`,
        name
      );
    }
    if (values.length !== size) {
      throw new InvalidModelError(
        `initial tensor '${name}' has ${values.length} elements, expected ${size} (shape [${layout.shapes[index]?.join(', ')}])`,
        name
      );
    }
    return Float32Array.from(values);
  });
}

/** Builds a TensorMap that shares the given arrays, keyed by spec name. */
export function viewAsMap(layout: ModelLayout, arrays: readonly Float32Array[]): TensorMap {
  const map: TensorMap = new Map();
  layout.names.forEach((name, index) => {
    const array = arrays[index];
    if (array !== undefined) map.set(name, array);
  });
  return map;
}

/**
 * Returns the product of the dimensions, as `shapeSize` in @asyncfl/protocol does. It is
 * repeated here so that the library imports only types from the protocol package, whose barrel
 * also loads the wire codec.
 */
function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}

/** Returns the array at `index`, for arrays whose length the code has already ensured. */
export function at<T>(array: readonly T[], index: number): T {
  return array[index] as T;
}
