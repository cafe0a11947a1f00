import { IndexOutOfRangeError, InvalidDatasetError, LabelOutOfRangeError } from './errors';

/** Labelled image examples held in memory. */
export interface Dataset {
  /** `count * featureSize` pixel values in [0, 1], one row-major image after another. */
  readonly images: Float32Array;
  /** `count` class labels in [0, numClasses). */
  readonly labels: Uint8Array;
  readonly count: number;
  /** Image dimensions as [height, width, channels], for MNIST [28, 28, 1]. */
  readonly imageShape: readonly [number, number, number];
  /** Number of classes, 10 for MNIST. */
  readonly numClasses: number;
}

/** Returns the number of values per image: height * width * channels. */
export function featureSize(dataset: Dataset): number {
  const [height, width, channels] = dataset.imageShape;
  return height * width * channels;
}

/**
 * Checks every field of `dataset`, including each label and pixel value, and throws
 * `InvalidDatasetError` or `LabelOutOfRangeError` on the first violation. The cost is linear in
 * the number of pixels.
 */
export function validateDataset(dataset: Dataset, source = 'dataset'): void {
  const { images, labels, count, imageShape, numClasses } = dataset;
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new InvalidDatasetError('count', `${count} is not a non-negative integer`);
  }
  if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > 256) {
    throw new InvalidDatasetError(
      'numClasses',
      `${numClasses} is not an integer in [1, 256], the range that Uint8Array labels can hold`
    );
  }
  if (
    !Array.isArray(imageShape) ||
    imageShape.length !== 3 ||
    !imageShape.every((dim) => Number.isInteger(dim) && dim >= 1)
  ) {
    throw new InvalidDatasetError(
      'imageShape',
      `${JSON.stringify(imageShape)} is not [height, width, channels] with positive integers`
    );
  }
  if (!(images instanceof Float32Array)) {
    throw new InvalidDatasetError('images', 'expected a Float32Array');
  }
  if (!(labels instanceof Uint8Array)) {
    throw new InvalidDatasetError('labels', 'expected a Uint8Array');
  }

  const size = featureSize(dataset);
  if (images.length !== count * size) {
    throw new InvalidDatasetError(
      'images',
      `length ${images.length} is not count * featureSize = ${count} * ${size} = ${count * size}`
    );
  }
  if (labels.length !== count) {
    throw new InvalidDatasetError('labels', `length ${labels.length} is not count = ${count}`);
  }

  for (let i = 0; i < count; i++) {
    const label = labels[i]!;
    if (label >= numClasses) throw new LabelOutOfRangeError(source, i, label, numClasses);
  }
  for (let i = 0; i < images.length; i++) {
    const value = images[i]!;
    // The negated comparison also rejects NaN.
    if (!(value >= 0 && value <= 1)) {
      throw new InvalidDatasetError(
        'images',
        `value ${value} of example ${Math.floor(i / size)} at feature ${i % size} ` +
          'is outside [0, 1]'
      );
    }
  }
}

/**
 * Copies the examples at `indices`, in that order, into a new dataset. Repeated indices give
 * repeated examples. Throws `IndexOutOfRangeError` for an index outside [0, count).
 */
export function subset(dataset: Dataset, indices: Uint32Array | readonly number[]): Dataset {
  const size = featureSize(dataset);
  const images = new Float32Array(indices.length * size);
  const labels = new Uint8Array(indices.length);
  for (let position = 0; position < indices.length; position++) {
    const index = indices[position]!;
    checkIndex(index, position, dataset.count);
    const start = index * size;
    images.set(dataset.images.subarray(start, start + size), position * size);
    labels[position] = dataset.labels[index]!;
  }
  return {
    images,
    labels,
    count: indices.length,
    imageShape: dataset.imageShape,
    numClasses: dataset.numClasses,
  };
}

/** Returns how many examples of each class `labels` contains, indexed by class. */
export function countLabels(labels: Uint8Array, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (label >= numClasses) throw new LabelOutOfRangeError('labels', i, label, numClasses);
    counts[label]!++;
  }
  return counts;
}

/** Throws `IndexOutOfRangeError` unless `index` is an integer in [0, count). */
export function checkIndex(index: number, position: number, count: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new IndexOutOfRangeError(index, position, count);
  }
}
