/** Shared fixtures for the aggregation tests. Not exported from the package. */
import assert from 'node:assert/strict';
import type { ModelSpec, TensorMap, TensorSpec } from '@asyncfl/protocol';
import type { Admission, UpdateInput } from './types';
import type { RejectReason } from './reasons';

export const TOLERANCE = 1e-6;

/** Asserts |actual - expected| <= 1e-6. */
export function assertClose(actual: number, expected: number, message?: string): void {
  const prefix = message === undefined ? '' : `${message}: `;
  assert.ok(
    Math.abs(actual - expected) <= TOLERANCE,
    `${prefix}expected ${expected}, got ${actual} (tolerance ${TOLERANCE})`
  );
}

/** Asserts that each element is within 1e-6 of the expected value. */
export function assertValuesClose(
  actual: Float32Array | undefined,
  expected: readonly number[],
  message = 'values'
): void {
  assert.ok(actual !== undefined, `${message}: tensor is missing`);
  assert.equal(actual.length, expected.length, `${message}: length`);
  expected.forEach((value, index) => {
    assertClose(actual[index] as number, value, `${message}[${index}]`);
  });
}

/** Asserts that two tensor maps hold the same names and bit-identical values. */
export function assertSameBits(actual: TensorMap, expected: TensorMap, message = 'tensors'): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), `${message}: names`);
  for (const [name, values] of expected) {
    const other = actual.get(name);
    assert.ok(other !== undefined, `${message}: '${name}' is missing`);
    const same = Buffer.from(other.buffer, other.byteOffset, other.byteLength).equals(
      Buffer.from(values.buffer, values.byteOffset, values.byteLength)
    );
    assert.ok(same, `${message}: '${name}' differs: ${[...other]} vs ${[...values]}`);
  }
}

/** Returns a deep copy of a tensor map. */
export function copyTensors(tensors: TensorMap): TensorMap {
  return new Map([...tensors].map(([name, values]) => [name, Float32Array.from(values)]));
}

export function trainable(name: string, shape: number[]): TensorSpec {
  return { name, shape, dtype: 'float32', trainable: true };
}

export function nonTrainable(name: string, shape: number[]): TensorSpec {
  return { name, shape, dtype: 'float32', trainable: false };
}

/** Returns a spec with one trainable vector `w` of `size` elements. */
export function vectorSpec(size: number): ModelSpec {
  return [trainable('w', [size])];
}

export function tensors(entries: Record<string, readonly number[]>): TensorMap {
  return new Map(
    Object.entries(entries).map(([name, values]) => [name, Float32Array.from(values)])
  );
}

/** Builds an update with rank 0 and 1 example unless overridden. */
export function update(
  id: string,
  baseVersion: number,
  values: Record<string, readonly number[]>,
  overrides: Partial<Omit<UpdateInput, 'tensors'>> = {}
): UpdateInput {
  return { id, rank: 0, baseVersion, numExamples: 1, tensors: tensors(values), ...overrides };
}

/** Asserts that admission rejected the update and returns the reason and detail. */
export function rejectionOf(admission: Admission): { reason: RejectReason; detail: string } {
  assert.equal(admission.ok, false, 'expected a rejection');
  assert.ok(!admission.ok);
  return { reason: admission.reason, detail: admission.detail };
}
