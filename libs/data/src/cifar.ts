import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

import type { Dataset } from './dataset';
import { CifarRecordSizeError, DataFileNotFoundError, LabelOutOfRangeError } from './errors';

// CIFAR-10 binary version: each file is a sequence of 3073-byte records, one label byte (0-9)
// followed by 3072 pixel bytes, the 1024 red values of the 32x32 image in row-major order, then
// the 1024 green and the 1024 blue values.

export const CIFAR10_IMAGE_SHAPE: readonly [number, number, number] = Object.freeze([32, 32, 3]);
export const CIFAR10_NUM_CLASSES = 10;
/** Bytes per record: the label byte and 32 x 32 x 3 pixel bytes. */
export const CIFAR10_RECORD_BYTES = 1 + 32 * 32 * 3;

/** Names of the binary batch files, as in the cifar-10-batches-bin folder of the archive. */
export const CIFAR10_FILES = Object.freeze({
  train: Object.freeze([
    'data_batch_1.bin',
    'data_batch_2.bin',
    'data_batch_3.bin',
    'data_batch_4.bin',
    'data_batch_5.bin',
  ]),
  test: Object.freeze(['test_batch.bin']),
});

const PIXELS_PER_CHANNEL = 32 * 32;
const CHANNELS = 3;

/**
 * Parses CIFAR-10 binary batches into one dataset. Images are stored channel-last
 * ([32, 32, 3], the layout that tfjs convolutions expect) with values scaled to [0, 1].
 * `sources` name the buffers in error messages.
 *
 * @throws CifarRecordSizeError for a buffer that is empty or not a whole number of records.
 * @throws LabelOutOfRangeError for a label byte above 9.
 */
export function parseCifar10Batches(
  buffers: readonly Uint8Array[],
  sources: readonly string[]
): Dataset {
  buffers.forEach((bytes, fileIndex) => {
    if (bytes.length === 0 || bytes.length % CIFAR10_RECORD_BYTES !== 0) {
      const source = sources[fileIndex] ?? `buffer ${fileIndex}`;
      throw new CifarRecordSizeError(source, bytes.length, CIFAR10_RECORD_BYTES);
    }
  });
  const count = buffers.reduce((sum, bytes) => sum + bytes.length / CIFAR10_RECORD_BYTES, 0);
  const images = new Float32Array(count * PIXELS_PER_CHANNEL * CHANNELS);
  const labels = new Uint8Array(count);

  let example = 0;
  buffers.forEach((bytes, fileIndex) => {
    const records = bytes.length / CIFAR10_RECORD_BYTES;
    for (let record = 0; record < records; record++, example++) {
      const offset = record * CIFAR10_RECORD_BYTES;
      const label = bytes[offset]!;
      if (label >= CIFAR10_NUM_CLASSES) {
        const source = sources[fileIndex] ?? `buffer ${fileIndex}`;
        throw new LabelOutOfRangeError(source, record, label, CIFAR10_NUM_CLASSES);
      }
      labels[example] = label;
      // Interleave the three channel planes: pixel p of channel c goes to p * 3 + c.
      const target = example * PIXELS_PER_CHANNEL * CHANNELS;
      for (let channel = 0; channel < CHANNELS; channel++) {
        const plane = offset + 1 + channel * PIXELS_PER_CHANNEL;
        for (let pixel = 0; pixel < PIXELS_PER_CHANNEL; pixel++) {
          images[target + pixel * CHANNELS + channel] = bytes[plane + pixel]! / 255;
        }
      }
    }
  });
  return {
    images,
    labels,
    count,
    imageShape: CIFAR10_IMAGE_SHAPE,
    numClasses: CIFAR10_NUM_CLASSES,
  };
}

/**
 * Loads the CIFAR-10 binary version from `directory`: the five training batches as the training
 * set and test_batch.bin as the test set. When the files are not in `directory` itself, its
 * subfolder cifar-10-batches-bin (as unpacked from the archive) is tried.
 *
 * @throws DataFileNotFoundError naming the first missing file.
 */
export function loadCifar10Directory(directory: string): { train: Dataset; test: Dataset } {
  const folder = existsSync(join(directory, CIFAR10_FILES.test[0]!))
    ? directory
    : join(directory, 'cifar-10-batches-bin');
  const load = (names: readonly string[]): Dataset => {
    const paths = names.map((name) => join(folder, name));
    const buffers = paths.map((path) => readCifarFile(path, directory));
    return parseCifar10Batches(buffers, paths);
  };
  return { train: load(CIFAR10_FILES.train), test: load(CIFAR10_FILES.test) };
}

function readCifarFile(path: string, directory: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') {
      const name = basename(path);
      throw new DataFileNotFoundError(
        [join(directory, name), join(directory, 'cifar-10-batches-bin', name)],
        { cause: error }
      );
    }
    throw error;
  }
}
