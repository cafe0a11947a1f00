/** Description of one model tensor, shared by the model, the codec and the aggregation rules. */
export interface TensorSpec {
  /** Stable name, identical in every process that builds the same architecture. */
  readonly name: string;
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  /** Only float32 tensors exist in models today. */
  readonly dtype: 'float32';
  /** False for state such as batch-norm moving statistics, which is averaged but never stepped. */
  readonly trainable: boolean;
}

/** Ordered list of every tensor in a model. Order is for display only: tensors travel by name. */
export type ModelSpec = readonly TensorSpec[];

/** Tensor values by name, each a flat row-major array of `product(shape)` elements. */
export type TensorMap = Map<string, Float32Array>;

/** Returns the element count of a shape. */
export function shapeSize(shape: readonly number[]): number {
  let size = 1;
  for (const dim of shape) size *= dim;
  return size;
}
