import assert from 'node:assert/strict';
import { test } from 'node:test';

import { countLabels, type Dataset } from './dataset';
import { InvalidArgumentError } from './errors';
import { loadMnistDigits } from './mnist-package';
import { splitTrainTest } from './split';

/** Dataset of 1 x 1 x 1 images whose single pixel is index / count, so pixels identify examples. */
function makeDataset(labels: number[]): Dataset {
  const count = labels.length;
  const images = Float32Array.from({ length: count }, (_, i) => i / count);
  return { images, labels: Uint8Array.from(labels), count, imageShape: [1, 1, 1], numClasses: 3 };
}

function exampleIds(dataset: Dataset): number[] {
  return Array.from(dataset.images, (pixel) => Math.round(pixel * 1_000_000));
}

test('split has requested sizes', () => {
  const { train, test: testSet } = splitTrainTest(loadMnistDigits(), { testSize: 2000, seed: 1 });
  assert.equal(testSet.count, 2000);
  assert.equal(train.count, 8000);
  assert.equal(testSet.images.length, 2000 * 784);
  assert.equal(train.images.length, 8000 * 784);
  assert.deepEqual(train.imageShape, [28, 28, 1]);
  assert.equal(testSet.numClasses, 10);
});

test('split sets are disjoint and complete', () => {
  const dataset = makeDataset(Array.from({ length: 1000 }, (_, i) => i % 3));
  const { train, test: testSet } = splitTrainTest(dataset, { testSize: 250, seed: 4 });
  const trainIds = exampleIds(train);
  const testIds = exampleIds(testSet);
  const all = [...trainIds, ...testIds].sort((a, b) => a - b);
  assert.deepEqual(all, exampleIds(dataset));
  const trainSet = new Set(trainIds);
  assert.ok(testIds.every((id) => !trainSet.has(id)));
});

test('split keeps labels with images', () => {
  const dataset = makeDataset(Array.from({ length: 300 }, (_, i) => (i * 7) % 3));
  const { train } = splitTrainTest(dataset, { testSize: 100, seed: 5 });
  for (let i = 0; i < train.count; i++) {
    const index = Math.round(train.images[i]! * 300);
    assert.equal(train.labels[i], dataset.labels[index], `train example ${i}`);
  }
});

test('split is deterministic per seed', () => {
  const dataset = makeDataset(Array.from({ length: 500 }, (_, i) => i % 3));
  const first = splitTrainTest(dataset, { testSize: 50, seed: 9 });
  const second = splitTrainTest(dataset, { testSize: 50, seed: 9 });
  const other = splitTrainTest(dataset, { testSize: 50, seed: 10 });
  assert.deepEqual(exampleIds(first.test), exampleIds(second.test));
  assert.deepEqual(exampleIds(first.train), exampleIds(second.train));
  assert.notDeepEqual(exampleIds(first.test), exampleIds(other.test));
});

test('split output is shuffled', () => {
  const dataset = makeDataset(Array.from({ length: 500 }, (_, i) => Math.floor(i / 200)));
  const { train } = splitTrainTest(dataset, { testSize: 100, seed: 2 });
  const ids = exampleIds(train);
  assert.notDeepEqual(
    ids,
    [...ids].sort((a, b) => a - b)
  );
});

test('stratified split keeps class proportions', () => {
  // Classes of 500, 300 and 200 examples: a test set of 101 should hold 50.5, 30.3 and 20.2.
  const labels = [...new Array(500).fill(0), ...new Array(300).fill(1), ...new Array(200).fill(2)];
  const { train, test: testSet } = splitTrainTest(makeDataset(labels), { testSize: 101, seed: 3 });
  assert.deepEqual(countLabels(testSet.labels, 3), [51, 30, 20]);
  assert.deepEqual(countLabels(train.labels, 3), [449, 270, 180]);
});

test('stratified MNIST test set is proportional', () => {
  const digits = loadMnistDigits();
  const totals = countLabels(digits.labels, 10);
  const { test: testSet } = splitTrainTest(digits, { testSize: 2000, seed: 11 });
  const counts = countLabels(testSet.labels, 10);
  for (let digit = 0; digit < 10; digit++) {
    const exact = (totals[digit]! * 2000) / 10_000;
    assert.ok(Math.abs(counts[digit]! - exact) < 1, `digit ${digit}: ${counts[digit]} vs ${exact}`);
  }
});

test('uniform split draws any class mix', () => {
  const labels = [...new Array(500).fill(0), ...new Array(500).fill(1)];
  const dataset = makeDataset(labels);
  const mixes = new Set<number>();
  for (let seed = 0; seed < 20; seed++) {
    const { test: testSet } = splitTrainTest(dataset, { testSize: 100, seed, stratify: false });
    assert.equal(testSet.count, 100);
    mixes.add(countLabels(testSet.labels, 3)[0]!);
  }
  // A stratified split would always give 50 zeros, a uniform one varies with the seed.
  assert.ok(mixes.size > 3, `zero counts seen: ${[...mixes].join(', ')}`);
});

test('split rejects invalid test size', () => {
  const dataset = makeDataset([0, 1, 2, 0, 1]);
  for (const testSize of [0, 5, -1, 2.5, Number.NaN]) {
    assert.throws(
      () => splitTrainTest(dataset, { testSize, seed: 1 }),
      (error: unknown) => {
        assert.ok(error instanceof InvalidArgumentError);
        assert.equal(error.argument, 'testSize');
        assert.ok(error.message.includes('[1, 4]'), error.message);
        return true;
      },
      `testSize ${testSize}`
    );
  }
});

test('split accepts extreme test sizes', () => {
  const dataset = makeDataset([0, 1, 2, 0, 1]);
  assert.equal(splitTrainTest(dataset, { testSize: 1, seed: 1 }).test.count, 1);
  assert.equal(splitTrainTest(dataset, { testSize: 4, seed: 1 }).train.count, 1);
});
