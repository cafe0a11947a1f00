// Helpers shared by this library's tests. Not exported from the package.
import * as tf from '@tensorflow/tfjs';
import type { ModelSpec, TensorMap } from '@asyncfl/protocol';
import { shapeSize } from '@asyncfl/protocol';
import { modelSpec, setWeights } from './weights';

/** Returns a deterministic uniform generator on [0, 1) (mulberry32), so tests do not flake. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Returns values uniform in [-1, 1) for every tensor of `spec`, the same for the same seed. */
export function randomWeights(spec: ModelSpec, seed: number): TensorMap {
  const random = seededRandom(seed);
  const weights: TensorMap = new Map();
  for (const tensor of spec) {
    const size = tensor.shape.reduce((product, dim) => product * dim, 1);
    weights.set(
      tensor.name,
      Float32Array.from({ length: size }, () => random() * 2 - 1)
    );
  }
  return weights;
}

/**
 * Sets a single-dense-layer classifier (`hidden: []`) to a zero kernel and the given bias, so
 * every input produces the logits `bias`.
 */
export function setConstantLogits(model: tf.LayersModel, bias: readonly number[]): void {
  const kernel = modelSpec(model).find((spec) => spec.name === 'dense1/kernel');
  if (kernel === undefined) throw new Error('model has no dense1/kernel');
  setWeights(
    model,
    new Map([
      ['dense1/kernel', new Float32Array(shapeSize(kernel.shape))],
      ['dense1/bias', Float32Array.from(bias)],
    ])
  );
}

/** Returns the element-wise largest absolute difference of two equally long arrays. */
export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} and ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return max;
}
