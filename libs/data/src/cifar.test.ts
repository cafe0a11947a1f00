import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import {
  CIFAR10_FILES,
  CIFAR10_RECORD_BYTES,
  loadCifar10Directory,
  parseCifar10Batches,
} from './cifar';
import { validateDataset } from './dataset';
import { CifarRecordSizeError, DataFileNotFoundError, LabelOutOfRangeError } from './errors';
import { loadDataSplit } from './source';

const PLANE = 32 * 32;

/**
 * Returns the value of pixel `pixel` in channel `channel` of record `record` in the test files:
 * distinct per record, channel and pixel, so a layout mistake changes the parsed values.
 */
function pixelByte(record: number, channel: number, pixel: number): number {
  return (record * 31 + channel * 85 + pixel * 7) % 256;
}

/** Builds a binary batch of the given labels, records numbered from `firstRecord`. */
function encodeBatch(labels: readonly number[], firstRecord = 0): Uint8Array {
  const bytes = new Uint8Array(labels.length * CIFAR10_RECORD_BYTES);
  labels.forEach((label, index) => {
    const offset = index * CIFAR10_RECORD_BYTES;
    bytes[offset] = label;
    for (let channel = 0; channel < 3; channel++) {
      for (let pixel = 0; pixel < PLANE; pixel++) {
        bytes[offset + 1 + channel * PLANE + pixel] = pixelByte(
          firstRecord + index,
          channel,
          pixel
        );
      }
    }
  });
  return bytes;
}

const directories: string[] = [];

function makeDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'asyncfl-cifar-'));
  directories.push(directory);
  return directory;
}

/** Writes five training batches with 2, 1, 1, 1 and 3 records and a test batch with 2. */
function writeCifarFiles(directory: string): void {
  const trainLabels = [[0, 9], [1], [2], [3], [4, 5, 6]];
  let record = 0;
  CIFAR10_FILES.train.forEach((name, index) => {
    const labels = trainLabels[index]!;
    writeFileSync(join(directory, name), encodeBatch(labels, record));
    record += labels.length;
  });
  writeFileSync(join(directory, CIFAR10_FILES.test[0]!), encodeBatch([7, 8], 100));
}

after(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

describe('CIFAR-10 reader', () => {
  test('pixels become channel-last', () => {
    const dataset = parseCifar10Batches([encodeBatch([3, 1])], ['batch']);

    assert.equal(dataset.count, 2);
    assert.deepEqual(Array.from(dataset.labels), [3, 1]);
    assert.deepEqual(dataset.imageShape, [32, 32, 3]);
    assert.equal(dataset.numClasses, 10);
    for (const [record, row, column, channel] of [
      [0, 0, 0, 0],
      [0, 0, 1, 2],
      [1, 31, 31, 1],
      [1, 5, 17, 0],
    ] as const) {
      const pixel = row * 32 + column;
      const value = dataset.images[record * 3072 + pixel * 3 + channel];
      assert.equal(
        value,
        Math.fround(pixelByte(record, channel, pixel) / 255),
        `${record},${row},${column},${channel}`
      );
    }
    validateDataset(dataset);
  });

  test('directory gives train and test', () => {
    const directory = makeDirectory();
    writeCifarFiles(directory);

    const { train, test: testSet } = loadCifar10Directory(directory);

    assert.equal(train.count, 8);
    assert.deepEqual(Array.from(train.labels), [0, 9, 1, 2, 3, 4, 5, 6]);
    assert.equal(train.images[7 * 3072], Math.fround(pixelByte(7, 0, 0) / 255));
    assert.equal(testSet.count, 2);
    assert.deepEqual(Array.from(testSet.labels), [7, 8]);
    assert.equal(testSet.images[3072 + 3 * 5 + 2], Math.fround(pixelByte(101, 2, 5) / 255));
  });

  test('archive subfolder is found', () => {
    const directory = makeDirectory();
    const inner = join(directory, 'cifar-10-batches-bin');
    mkdirSync(inner);
    writeCifarFiles(inner);

    assert.equal(loadCifar10Directory(directory).train.count, 8);
  });

  test('loadDataSplit reads cifar10', () => {
    const directory = makeDirectory();
    writeCifarFiles(directory);

    const split = loadDataSplit({ source: 'cifar10', dir: directory, testSize: 1, seed: 1 });

    assert.equal(split.train.count, 8);
    assert.equal(split.test.count, 2);
  });

  test('missing file is named', () => {
    const directory = makeDirectory();
    writeCifarFiles(directory);
    rmSync(join(directory, 'data_batch_3.bin'));

    assert.throws(
      () => loadCifar10Directory(directory),
      (error: unknown) => {
        assert.ok(error instanceof DataFileNotFoundError);
        assert.equal(error.paths[0], join(directory, 'data_batch_3.bin'));
        assert.match(error.message, /data_batch_3\.bin/);
        return true;
      }
    );
  });

  test('rejects partial records', () => {
    for (const length of [0, 3072, CIFAR10_RECORD_BYTES + 1, 2 * CIFAR10_RECORD_BYTES - 1]) {
      assert.throws(
        () => parseCifar10Batches([new Uint8Array(length)], ['short.bin']),
        (error: unknown) => {
          assert.ok(error instanceof CifarRecordSizeError, `length ${length}`);
          assert.equal(error.code, 'FL_DATA_CIFAR_RECORD_SIZE');
          assert.equal(error.byteLength, length);
          assert.match(error.message, /short\.bin/);
          assert.match(error.message, /3073/);
          return true;
        }
      );
    }
  });

  test('rejects labels above 9', () => {
    const bytes = encodeBatch([2, 10, 4]);

    assert.throws(
      () => parseCifar10Batches([bytes], ['labels.bin']),
      (error: unknown) => {
        assert.ok(error instanceof LabelOutOfRangeError);
        assert.match(error.message, /labels\.bin/);
        assert.match(error.message, /label 10 of example 1/);
        return true;
      }
    );
  });
});
