import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ModelSpec } from '@asyncfl/protocol';
import { federatedAverage, median, roundClosesAt } from './sync-round';

test('median of odd and even counts', () => {
  assert.equal(median([30, 10, 20]), 20);
  assert.equal(median([40, 10, 30, 20]), 25);
  assert.throws(() => median([]), /median of an empty list/);
});

test('round closes once all updates arrived', () => {
  assert.equal(roundClosesAt(1000, [100, 300, 200], 3, 2), 1000);
});

test('round has no deadline before updates', () => {
  assert.equal(roundClosesAt(1000, [], 8, 2), Number.POSITIVE_INFINITY);
});

test('round deadline is twice median latency', () => {
  // Five of eight updates arrived, and the median of 100..150 is 130, so the round closes at 1000 + 260.
  assert.equal(roundClosesAt(1000, [150, 100, 130, 140, 120], 8, 2), 1260);
  assert.equal(roundClosesAt(1000, [150, 100, 130, 140, 120], 8, 3), 1390);
});

test('a departed worker lowers the expected count', () => {
  // Seven expected after one worker left, so seven updates close the round at once.
  const seven = [100, 110, 120, 130, 140, 150, 160];
  assert.equal(roundClosesAt(0, seven, 7, 2), 0);
  assert.equal(roundClosesAt(0, seven, 8, 2), 260);
});

const spec: ModelSpec = [
  { name: 'kernel', shape: [2], dtype: 'float32', trainable: true },
  { name: 'mean', shape: [1], dtype: 'float32', trainable: false },
];

test('FedAvg weighs deltas and values by examples', () => {
  const weights = new Map([
    ['kernel', Float32Array.from([1, 2])],
    ['mean', Float32Array.from([5])],
  ]);
  federatedAverage(weights, spec, [
    {
      examples: 30,
      delta: new Map([
        ['kernel', Float32Array.from([0.4, -0.4])],
        ['mean', Float32Array.from([2])],
      ]),
    },
    {
      examples: 10,
      delta: new Map([
        ['kernel', Float32Array.from([0.8, 0.4])],
        ['mean', Float32Array.from([6])],
      ]),
    },
  ]);
  // kernel: w - (0.75 * delta1 + 0.25 * delta2); mean: 0.75 * 2 + 0.25 * 6.
  assert.ok(Math.abs(weights.get('kernel')![0]! - 0.5) < 1e-6, `${weights.get('kernel')}`);
  assert.ok(Math.abs(weights.get('kernel')![1]! - 2.2) < 1e-6, `${weights.get('kernel')}`);
  assert.ok(Math.abs(weights.get('mean')![0]! - 3) < 1e-6, `${weights.get('mean')}`);
});

test('FedAvg without updates keeps weights', () => {
  const weights = new Map([
    ['kernel', Float32Array.from([1, 2])],
    ['mean', Float32Array.from([5])],
  ]);
  federatedAverage(weights, spec, []);
  assert.deepEqual([...weights.get('kernel')!], [1, 2]);
  assert.deepEqual([...weights.get('mean')!], [5]);
});
