import assert from 'node:assert/strict';
import { test } from 'node:test';

import { countLabels, featureSize, subset, validateDataset, type Dataset } from './dataset';
import { IndexOutOfRangeError, InvalidDatasetError, LabelOutOfRangeError } from './errors';

/** Dataset of 2 x 3 x 1 images whose pixels encode the example index, label = index % 4. */
function makeDataset(count: number): Dataset {
  const size = 6;
  const images = new Float32Array(count * size);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < size; j++) images[i * size + j] = (i + j / 10) / (count + 1);
  }
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 4);
  return { images, labels, count, imageShape: [2, 3, 1], numClasses: 4 };
}

test('featureSize multiplies image dimensions', () => {
  assert.equal(featureSize(makeDataset(1)), 6);
  assert.equal(featureSize({ ...makeDataset(0), imageShape: [28, 28, 3] }), 2352);
});

test('subset copies selected examples in order', () => {
  const dataset = makeDataset(10);
  const picked = subset(dataset, [7, 2, 7]);
  assert.equal(picked.count, 3);
  assert.deepEqual([...picked.labels], [3, 2, 3]);
  assert.deepEqual(picked.images.subarray(0, 6), dataset.images.subarray(42, 48));
  assert.deepEqual(picked.images.subarray(6, 12), dataset.images.subarray(12, 18));
  assert.deepEqual(picked.images.subarray(12, 18), dataset.images.subarray(42, 48));
  assert.deepEqual(picked.imageShape, dataset.imageShape);
  assert.equal(picked.numClasses, 4);
  validateDataset(picked);
});

test('subset does not share memory', () => {
  const dataset = makeDataset(5);
  const picked = subset(dataset, Uint32Array.of(1));
  const before = dataset.images[6];
  picked.images[0] = 0.999;
  picked.labels[0] = 0;
  assert.equal(dataset.images[6], before);
  assert.equal(dataset.labels[1], 1);
});

test('subset rejects out-of-range indices', () => {
  const dataset = makeDataset(5);
  for (const bad of [5, -1, 1.5]) {
    assert.throws(
      () => subset(dataset, [0, bad]),
      (error: unknown) => {
        assert.ok(error instanceof IndexOutOfRangeError);
        assert.equal(error.code, 'FL_DATA_INDEX_OUT_OF_RANGE');
        assert.equal(error.index, bad);
        assert.equal(error.position, 1);
        assert.equal(error.count, 5);
        return true;
      }
    );
  }
});

test('validateDataset accepts consistent dataset', () => {
  validateDataset(makeDataset(8));
  validateDataset(makeDataset(0));
});

test('validateDataset rejects inconsistent fields', () => {
  const good = makeDataset(4);
  const cases: Array<[string, Dataset]> = [
    ['count', { ...good, count: -1 }],
    ['count', { ...good, count: 2.5 }],
    ['numClasses', { ...good, numClasses: 0 }],
    ['numClasses', { ...good, numClasses: 300 }],
    ['imageShape', { ...good, imageShape: [2, 0, 1] }],
    ['imageShape', { ...good, imageShape: [2, 3] as unknown as [number, number, number] }],
    ['images', { ...good, images: new Float32Array(23) }],
    ['images', { ...good, images: Array.from(good.images) as unknown as Float32Array }],
    ['labels', { ...good, labels: new Uint8Array(3) }],
  ];
  for (const [field, dataset] of cases) {
    assert.throws(
      () => validateDataset(dataset),
      (error: unknown) => {
        assert.ok(error instanceof InvalidDatasetError, `case ${field}: ${String(error)}`);
        assert.equal(error.code, 'FL_DATA_INVALID_DATASET');
        assert.equal(error.field, field);
        return true;
      }
    );
  }
});

test('validateDataset rejects pixel outside [0, 1]', () => {
  for (const value of [-0.01, 1.01, Number.NaN]) {
    const dataset = makeDataset(3);
    dataset.images[9] = value;
    assert.throws(
      () => validateDataset(dataset),
      (error: unknown) => {
        assert.ok(error instanceof InvalidDatasetError);
        assert.equal(error.field, 'images');
        assert.ok(error.message.includes('example 1 at feature 3'), error.message);
        return true;
      },
      `value ${value}`
    );
  }
});

test('validateDataset rejects label out of range', () => {
  const dataset = makeDataset(3);
  dataset.labels[2] = 4;
  assert.throws(
    () => validateDataset(dataset, 'fixture'),
    (error: unknown) => {
      assert.ok(error instanceof LabelOutOfRangeError);
      assert.equal(error.code, 'FL_DATA_LABEL_OUT_OF_RANGE');
      assert.equal(error.source, 'fixture');
      assert.equal(error.index, 2);
      assert.equal(error.label, 4);
      return true;
    }
  );
});

test('countLabels counts each class', () => {
  assert.deepEqual(countLabels(Uint8Array.of(0, 2, 2, 1, 2), 4), [1, 1, 3, 0]);
  assert.throws(() => countLabels(Uint8Array.of(0, 4), 4), LabelOutOfRangeError);
});
