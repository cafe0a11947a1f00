import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

import type { Dataset } from './dataset';
import {
  DataFileNotFoundError,
  GzipDecompressionError,
  IdxBadMagicError,
  IdxCountMismatchError,
  IdxRankMismatchError,
  IdxTrailingBytesError,
  IdxTruncatedError,
  InvalidArgumentError,
  InvalidDatasetError,
  LabelOutOfRangeError,
} from './errors';
import { MNIST_NUM_CLASSES } from './mnist-package';

// IDX, the file format of the original MNIST distribution: a big-endian 32-bit magic number
// whose bytes are 0, 0, the element type and the rank, then one big-endian 32-bit size per
// dimension, then the elements in row-major order. Only type 0x08 (unsigned byte) is
// supported, which is the type of all four MNIST files.

/** IDX element type code of unsigned bytes. */
export const IDX_UNSIGNED_BYTE = 0x08;

/** Base names of the four MNIST IDX files. Each may also exist with `.gz` appended. */
export const MNIST_IDX_FILES = Object.freeze({
  train: Object.freeze({ images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' }),
  test: Object.freeze({ images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' }),
});

const MAX_DIMENSION = 0x7fff_ffff;

/** Unsigned byte tensor read from an IDX file. */
export interface IdxArray {
  /** Dimension sizes, outermost first, such as [60000, 28, 28] for MNIST training images. */
  readonly shape: readonly number[];
  /** Elements in row-major order. */
  readonly data: Uint8Array;
}

/**
 * Parses an unsigned-byte IDX file from memory. Gzip data, recognised by its first two bytes
 * 1f 8b, is decompressed first. `sourceName` names the input in error messages. When
 * `expectedRank` is given, a file of another rank raises `IdxRankMismatchError`.
 */
export function parseIdx(buffer: Uint8Array, sourceName: string, expectedRank?: number): IdxArray {
  const bytes = isGzip(buffer) ? gunzip(buffer, sourceName) : buffer;
  if (bytes.length < 4) {
    throw new IdxTruncatedError(sourceName, 'magic number', 4, bytes.length);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const rank = magic & 0xff;
  const elementType = (magic >>> 8) & 0xff;

  if (magic >>> 16 !== 0 || elementType !== IDX_UNSIGNED_BYTE || rank === 0) {
    const expectedMagicRank = expectedRank ?? (rank === 0 ? 1 : rank);
    throw new IdxBadMagicError(
      sourceName,
      magic,
      (IDX_UNSIGNED_BYTE << 8) | expectedMagicRank,
      describeContent(expectedMagicRank)
    );
  }
  if (expectedRank !== undefined && rank !== expectedRank) {
    throw new IdxRankMismatchError(sourceName, rank, expectedRank);
  }

  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new IdxTruncatedError(sourceName, 'dimension sizes', headerBytes, bytes.length);
  }
  const shape: number[] = [];
  let elementCount = 1;
  for (let axis = 0; axis < rank; axis++) {
    // Sizes are signed 32-bit integers in the format. Reading them unsigned turns a negative
    // size into one above 2^31, which the length check below then rejects as truncation.
    const size = view.getUint32(4 + 4 * axis, false);
    shape.push(size);
    elementCount *= size;
  }

  const totalBytes = headerBytes + elementCount;
  if (bytes.length < totalBytes) {
    throw new IdxTruncatedError(sourceName, 'data', totalBytes, bytes.length);
  }
  if (bytes.length > totalBytes) {
    throw new IdxTrailingBytesError(sourceName, totalBytes, bytes.length);
  }
  // Copies into a plain Uint8Array: Buffer.slice would return a Buffer view of the whole file.
  return { shape, data: new Uint8Array(bytes.subarray(headerBytes, totalBytes)) };
}

/** Reads and parses an IDX file, plain or gzip. Throws `DataFileNotFoundError` if it is missing. */
export function readIdxFile(path: string, expectedRank?: number): IdxArray {
  return parseIdx(readExistingFile([path]).bytes, path, expectedRank);
}

/** Encodes `data` with dimension sizes `shape` as an unsigned-byte IDX file. */
export function encodeIdx(shape: readonly number[], data: Uint8Array): Uint8Array {
  if (shape.length < 1 || shape.length > 255) {
    throw new InvalidArgumentError('shape', `[${shape.join(', ')}]`, 'a rank in [1, 255]');
  }
  let elementCount = 1;
  for (const size of shape) {
    if (!Number.isInteger(size) || size < 0 || size > MAX_DIMENSION) {
      throw new InvalidArgumentError('shape', `[${shape.join(', ')}]`, 'sizes in [0, 2^31 - 1]');
    }
    elementCount *= size;
  }
  if (data.length !== elementCount) {
    throw new InvalidArgumentError(
      'data.length',
      data.length,
      `${elementCount}, the product of shape [${shape.join(', ')}]`
    );
  }

  const headerBytes = 4 + 4 * shape.length;
  const bytes = new Uint8Array(headerBytes + data.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, (IDX_UNSIGNED_BYTE << 8) | shape.length, false);
  shape.forEach((size, axis) => view.setUint32(4 + 4 * axis, size, false));
  bytes.set(data, headerBytes);
  return bytes;
}

/** Writes an unsigned-byte IDX file, gzip-compressed when `options.gzip` is true. */
export function writeIdx(
  path: string,
  shape: readonly number[],
  data: Uint8Array,
  options: { readonly gzip?: boolean } = {}
): void {
  const encoded = encodeIdx(shape, data);
  writeFileSync(path, options.gzip === true ? gzipSync(encoded) : encoded);
}

/**
 * Loads an images file of rank 3 and a labels file of rank 1 as a dataset with pixels scaled
 * from 0..255 to [0, 1] and 10 classes. Both files must hold the same number of examples.
 */
export function loadIdxDataset(imagesPath: string, labelsPath: string): Dataset {
  return buildDataset(
    readIdxFile(imagesPath, 3),
    imagesPath,
    readIdxFile(labelsPath, 1),
    labelsPath
  );
}

/**
 * Loads the four MNIST files from `directory`. Each file is read from its base name or, when
 * that is missing, from the base name with `.gz` appended. The content decides whether a file
 * is decompressed, so either name may hold either form.
 */
export function loadIdxDirectory(directory: string): { train: Dataset; test: Dataset } {
  const loadSplit = (names: { images: string; labels: string }): Dataset => {
    const images = readFirstExisting(directory, names.images);
    const labels = readFirstExisting(directory, names.labels);
    return buildDataset(
      parseIdx(images.bytes, images.path, 3),
      images.path,
      parseIdx(labels.bytes, labels.path, 1),
      labels.path
    );
  };
  return { train: loadSplit(MNIST_IDX_FILES.train), test: loadSplit(MNIST_IDX_FILES.test) };
}

function buildDataset(
  images: IdxArray,
  imagesSource: string,
  labels: IdxArray,
  labelsSource: string
): Dataset {
  const [imageCount, height, width] = images.shape as [number, number, number];
  const [labelCount] = labels.shape as [number];
  if (imageCount !== labelCount) {
    throw new IdxCountMismatchError(imagesSource, labelsSource, imageCount, labelCount);
  }
  if (height < 1 || width < 1) {
    throw new InvalidDatasetError(
      'imageShape',
      `${imagesSource} declares images of ${height} x ${width} pixels, expected at least 1 x 1`
    );
  }
  labels.data.forEach((label, index) => {
    if (label >= MNIST_NUM_CLASSES) {
      throw new LabelOutOfRangeError(labelsSource, index, label, MNIST_NUM_CLASSES);
    }
  });

  const pixels = images.data;
  const scaled = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) scaled[i] = pixels[i]! / 255;
  return {
    images: scaled,
    labels: labels.data,
    count: imageCount,
    imageShape: [height, width, 1],
    numClasses: MNIST_NUM_CLASSES,
  };
}

function readFirstExisting(directory: string, baseName: string): { path: string; bytes: Buffer } {
  return readExistingFile([join(directory, baseName), join(directory, `${baseName}.gz`)]);
}

/** Reads the first of `paths` that exists, or throws `DataFileNotFoundError` naming all. */
function readExistingFile(paths: readonly string[]): { path: string; bytes: Buffer } {
  let lastError: unknown;
  for (const path of paths) {
    try {
      return { path, bytes: readFileSync(path) };
    } catch (error) {
      if (!(error instanceof Error && 'code' in error && error.code === 'ENOENT')) throw error;
      lastError = error;
    }
  }
  throw new DataFileNotFoundError(paths, { cause: lastError });
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function gunzip(bytes: Uint8Array, sourceName: string): Uint8Array {
  try {
    return gunzipSync(bytes);
  } catch (error) {
    throw new GzipDecompressionError(sourceName, { cause: error });
  }
}

function describeContent(rank: number): string {
  if (rank === 3) return 'unsigned byte images of rank 3';
  if (rank === 1) return 'unsigned byte labels of rank 1';
  return `unsigned byte data of rank ${rank}`;
}
