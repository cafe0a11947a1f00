import assert from 'node:assert/strict';
import { test } from 'node:test';

import { apportion, sampleDirichlet, sampleLogGamma } from './distributions';
import { InvalidArgumentError } from './errors';
import { createRng } from './rng';

const SAMPLES = 20_000;

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function variance(values: readonly number[]): number {
  const center = mean(values);
  return values.reduce((sum, value) => sum + (value - center) ** 2, 0) / (values.length - 1);
}

test('gamma sample mean equals shape', () => {
  for (const shape of [0.3, 1, 4.5]) {
    const rng = createRng(11);
    const samples = Array.from({ length: SAMPLES }, () => Math.exp(sampleLogGamma(rng, shape)));

    const relativeError = Math.abs(mean(samples) - shape) / shape;
    assert.ok(relativeError < 0.05, `shape ${shape}: mean ${mean(samples)}`);
  }
});

test('gamma rejects invalid shapes', () => {
  for (const shape of [0, -1, Number.NaN, Infinity]) {
    assert.throws(() => sampleLogGamma(createRng(1), shape), InvalidArgumentError);
  }
});

test('dirichlet moments match theory', () => {
  const size = 4;
  for (const alpha of [0.1, 1, 10]) {
    const rng = createRng(3);
    const first: number[] = [];
    for (let i = 0; i < SAMPLES; i++) first.push(sampleDirichlet(rng, alpha, size)[0]!);
    // Symmetric Dirichlet: E[p_i] = 1/K, Var[p_i] = (K - 1) / (K^2 (K·alpha + 1)).
    const expectedVariance = (size - 1) / (size * size * (size * alpha + 1));

    assert.ok(Math.abs(mean(first) - 1 / size) < 0.01, `alpha ${alpha}: mean ${mean(first)}`);
    const relativeError = Math.abs(variance(first) - expectedVariance) / expectedVariance;
    assert.ok(relativeError < 0.08, `alpha ${alpha}: variance ${variance(first)}`);
  }
});

test('dirichlet sums to one', () => {
  const rng = createRng(5);
  for (const alpha of [0.001, 0.5, 100]) {
    const sample = sampleDirichlet(rng, alpha, 7);
    const total = sample.reduce((a, b) => a + b, 0);

    assert.ok(
      sample.every((value) => value >= 0 && Number.isFinite(value)),
      `alpha ${alpha}`
    );
    assert.ok(Math.abs(total - 1) < 1e-12, `alpha ${alpha}: total ${total}`);
  }
});

test('dirichlet is deterministic per seed', () => {
  const first = sampleDirichlet(createRng(9), 0.5, 5);
  const second = sampleDirichlet(createRng(9), 0.5, 5);
  const other = sampleDirichlet(createRng(10), 0.5, 5);

  assert.deepEqual(second, first);
  assert.notDeepEqual(other, first);
});

test('apportion sums to total', () => {
  assert.deepEqual(apportion([0.5, 0.3, 0.2], 10), [5, 3, 2]);
  assert.deepEqual(apportion([1, 1, 1], 10), [4, 3, 3]);
  assert.deepEqual(apportion([0.1, 0.9], 3), [0, 3]);
  assert.deepEqual(apportion([0, 1], 0), [0, 0]);
});
