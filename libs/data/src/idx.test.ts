import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';

import { validateDataset } from './dataset';
import {
  DataFileNotFoundError,
  GzipDecompressionError,
  IdxBadMagicError,
  IdxCountMismatchError,
  IdxRankMismatchError,
  IdxTrailingBytesError,
  IdxTruncatedError,
  LabelOutOfRangeError,
} from './errors';
import {
  MNIST_IDX_FILES,
  encodeIdx,
  loadIdxDataset,
  loadIdxDirectory,
  parseIdx,
  readIdxFile,
  writeIdx,
} from './idx';

let workDir = '';
let caseNumber = 0;

before(() => {
  workDir = mkdtempSync(join(tmpdir(), 'asyncfl-idx-'));
});

after(() => {
  rmSync(workDir, { recursive: true, force: true });
});

/** Returns a new empty folder inside the temporary directory. */
function newCaseDir(): string {
  const dir = join(workDir, `case-${caseNumber++}`);
  mkdirSync(dir);
  return dir;
}

/** Pixels 0, 1, 2, ... wrapping at 256, for `count` images of 3 x 2 pixels. */
function makePixels(count: number): Uint8Array {
  return Uint8Array.from({ length: count * 6 }, (_, i) => (i * 37) % 256);
}

function makeLabels(count: number): Uint8Array {
  return Uint8Array.from({ length: count }, (_, i) => (i * 3) % 10);
}

function writeSplit(dir: string, split: 'train' | 'test', count: number, gzip: boolean): void {
  const names = MNIST_IDX_FILES[split];
  const suffix = gzip ? '.gz' : '';
  writeIdx(join(dir, names.images + suffix), [count, 3, 2], makePixels(count), { gzip });
  writeIdx(join(dir, names.labels + suffix), [count], makeLabels(count), { gzip });
}

function hasCode(code: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof Error);
    assert.equal((error as { code?: unknown }).code, code, error.message);
    return true;
  };
}

test('IDX plain file round trips', () => {
  const path = join(newCaseDir(), 'images');
  const pixels = makePixels(5);
  writeIdx(path, [5, 3, 2], pixels);
  const bytes = readFileSync(path);
  assert.equal(bytes.readUInt32BE(0), 0x00000803);
  assert.equal(bytes.readUInt32BE(4), 5);
  assert.equal(bytes.length, 16 + 30);
  const parsed = readIdxFile(path);
  assert.deepEqual(parsed.shape, [5, 3, 2]);
  assert.deepEqual(parsed.data, pixels);
});

test('IDX gzip file round trips', () => {
  const path = join(newCaseDir(), 'labels.gz');
  const labels = makeLabels(40);
  writeIdx(path, [40], labels, { gzip: true });
  const bytes = readFileSync(path);
  assert.equal(bytes[0], 0x1f);
  assert.equal(bytes[1], 0x8b);
  const parsed = readIdxFile(path, 1);
  assert.deepEqual(parsed.shape, [40]);
  assert.deepEqual(parsed.data, labels);
});

test('gzip detected by content not name', () => {
  const dir = newCaseDir();
  const labels = makeLabels(7);
  writeIdx(join(dir, 'gzip-without-suffix'), [7], labels, { gzip: true });
  writeIdx(join(dir, 'plain-with-suffix.gz'), [7], labels);
  assert.deepEqual(readIdxFile(join(dir, 'gzip-without-suffix')).data, labels);
  assert.deepEqual(readIdxFile(join(dir, 'plain-with-suffix.gz')).data, labels);
});

test('directory loads plain and gzip files', () => {
  const dir = newCaseDir();
  writeSplit(dir, 'train', 12, false);
  writeSplit(dir, 'test', 4, true);
  const { train, test: testSet } = loadIdxDirectory(dir);
  assert.equal(train.count, 12);
  assert.equal(testSet.count, 4);
  assert.deepEqual(train.imageShape, [3, 2, 1]);
  assert.equal(train.numClasses, 10);
  assert.deepEqual(train.labels, makeLabels(12));
  validateDataset(train);
  validateDataset(testSet);
});

test('directory scales pixels to unit range', () => {
  const dir = newCaseDir();
  writeSplit(dir, 'test', 1, false);
  const names = MNIST_IDX_FILES.train;
  writeIdx(join(dir, names.images), [1, 3, 2], Uint8Array.of(0, 255, 51, 102, 1, 254));
  writeIdx(join(dir, names.labels), [1], Uint8Array.of(9));
  const { train } = loadIdxDirectory(dir);
  const expected = [0, 1, 0.2, 0.4, 1 / 255, 254 / 255].map((value) => Math.fround(value));
  assert.deepEqual([...train.images], expected);
  assert.equal(train.labels[0], 9);
});

test('loadIdxDataset reads one pair', () => {
  const dir = newCaseDir();
  writeIdx(join(dir, 'x'), [3, 3, 2], makePixels(3));
  writeIdx(join(dir, 'y'), [3], makeLabels(3));
  const dataset = loadIdxDataset(join(dir, 'x'), join(dir, 'y'));
  assert.equal(dataset.count, 3);
  assert.equal(dataset.images[1], Math.fround(37 / 255));
});

test('bad magic number is rejected', () => {
  const bytes = encodeIdx([2, 3, 2], makePixels(2));
  new DataView(bytes.buffer).setUint32(0, 0x00000999, false);
  assert.throws(
    () => parseIdx(bytes, '/x/train-images-idx3-ubyte', 3),
    (error: unknown) => {
      assert.ok(error instanceof IdxBadMagicError);
      assert.equal(error.code, 'FL_DATA_BAD_MAGIC');
      assert.equal(error.magic, 0x999);
      assert.equal(error.expectedMagic, 0x803);
      assert.equal(
        error.message,
        'IDX file /x/train-images-idx3-ubyte: magic number 0x00000999 is not 0x00000803 ' +
          '(unsigned byte images of rank 3)'
      );
      return true;
    }
  );
});

test('unsupported element types are rejected', () => {
  // 0x0d is float32 and 0x09 signed byte: valid IDX, but not the unsigned bytes of MNIST.
  for (const magic of [0x00000d03, 0x00000903, 0x01000803, 0x00000800]) {
    const bytes = encodeIdx([1, 3, 2], makePixels(1));
    new DataView(bytes.buffer).setUint32(0, magic, false);
    assert.throws(() => parseIdx(bytes, 'file'), hasCode('FL_DATA_BAD_MAGIC'), `magic ${magic}`);
  }
});

test('wrong rank is rejected', () => {
  const labels = encodeIdx([4], makeLabels(4));
  assert.throws(
    () => parseIdx(labels, 'swapped', 3),
    (error: unknown) => {
      assert.ok(error instanceof IdxRankMismatchError);
      assert.equal(error.code, 'FL_DATA_BAD_RANK');
      assert.equal(error.rank, 1);
      assert.equal(error.expectedRank, 3);
      return true;
    }
  );
});

test('truncated data is rejected', () => {
  const bytes = encodeIdx([5, 3, 2], makePixels(5));
  assert.throws(
    () => parseIdx(bytes.subarray(0, bytes.length - 1), 'short'),
    (error: unknown) => {
      assert.ok(error instanceof IdxTruncatedError);
      assert.equal(error.code, 'FL_DATA_TRUNCATED');
      assert.equal(error.part, 'data');
      assert.equal(error.expectedBytes, 46);
      assert.equal(error.actualBytes, 45);
      return true;
    }
  );
});

test('truncated header is rejected', () => {
  const bytes = encodeIdx([5, 3, 2], makePixels(5));
  const cases: Array<[number, string]> = [
    [0, 'magic number'],
    [3, 'magic number'],
    [4, 'dimension sizes'],
    [15, 'dimension sizes'],
  ];
  for (const [length, part] of cases) {
    assert.throws(
      () => parseIdx(bytes.subarray(0, length), 'short'),
      (error: unknown) => {
        assert.ok(error instanceof IdxTruncatedError);
        assert.equal(error.part, part);
        return true;
      },
      `length ${length}`
    );
  }
});

test('negative dimension size is rejected', () => {
  const bytes = encodeIdx([1], Uint8Array.of(3));
  new DataView(bytes.buffer).setInt32(4, -1, false);
  assert.throws(() => parseIdx(bytes, 'negative'), hasCode('FL_DATA_TRUNCATED'));
});

test('trailing bytes are rejected', () => {
  const bytes = encodeIdx([2], Uint8Array.of(1, 2));
  const longer = new Uint8Array(bytes.length + 3);
  longer.set(bytes);
  assert.throws(
    () => parseIdx(longer, 'long'),
    (error: unknown) => {
      assert.ok(error instanceof IdxTrailingBytesError);
      assert.equal(error.code, 'FL_DATA_TRAILING_BYTES');
      assert.equal(error.actualBytes, 13);
      return true;
    }
  );
});

test('truncated gzip file is rejected', () => {
  const compressed = gzipSync(encodeIdx([100], makeLabels(100)));
  assert.throws(
    () => parseIdx(compressed.subarray(0, compressed.length - 10), 'cut.gz'),
    (error: unknown) => {
      assert.ok(error instanceof GzipDecompressionError);
      assert.equal(error.code, 'FL_DATA_GZIP_FAILED');
      assert.ok(error.cause instanceof Error);
      return true;
    }
  );
});

test('mismatched counts are rejected', () => {
  const dir = newCaseDir();
  writeSplit(dir, 'train', 6, false);
  writeSplit(dir, 'test', 3, false);
  writeIdx(join(dir, MNIST_IDX_FILES.test.labels), [4], makeLabels(4));
  assert.throws(
    () => loadIdxDirectory(dir),
    (error: unknown) => {
      assert.ok(error instanceof IdxCountMismatchError);
      assert.equal(error.code, 'FL_DATA_COUNT_MISMATCH');
      assert.equal(error.imageCount, 3);
      assert.equal(error.labelCount, 4);
      assert.equal(error.labelsSource, join(dir, MNIST_IDX_FILES.test.labels));
      return true;
    }
  );
});

test('label out of range is rejected', () => {
  const dir = newCaseDir();
  writeSplit(dir, 'train', 6, true);
  writeSplit(dir, 'test', 3, false);
  writeIdx(join(dir, MNIST_IDX_FILES.train.labels + '.gz'), [6], Uint8Array.of(1, 2, 3, 10, 4, 5), {
    gzip: true,
  });
  assert.throws(
    () => loadIdxDirectory(dir),
    (error: unknown) => {
      assert.ok(error instanceof LabelOutOfRangeError);
      assert.equal(error.code, 'FL_DATA_LABEL_OUT_OF_RANGE');
      assert.equal(error.index, 3);
      assert.equal(error.label, 10);
      assert.equal(error.source, join(dir, MNIST_IDX_FILES.train.labels + '.gz'));
      return true;
    }
  );
});

test('swapped files are rejected by rank', () => {
  const dir = newCaseDir();
  writeSplit(dir, 'train', 2, false);
  writeSplit(dir, 'test', 2, false);
  const names = MNIST_IDX_FILES.test;
  writeFileSync(join(dir, names.images), readFileSync(join(dir, names.labels)));
  assert.throws(() => loadIdxDirectory(dir), hasCode('FL_DATA_BAD_RANK'));
});

test('missing file names both candidates', () => {
  const dir = newCaseDir();
  writeSplit(dir, 'train', 2, false);
  assert.throws(
    () => loadIdxDirectory(dir),
    (error: unknown) => {
      assert.ok(error instanceof DataFileNotFoundError);
      assert.equal(error.code, 'FL_DATA_FILE_NOT_FOUND');
      assert.deepEqual(error.paths, [
        join(dir, 't10k-images-idx3-ubyte'),
        join(dir, 't10k-images-idx3-ubyte.gz'),
      ]);
      assert.match(error.message, /t10k-images-idx3-ubyte and .*t10k-images-idx3-ubyte\.gz/);
      return true;
    }
  );
});

test('readIdxFile reports missing path', () => {
  const path = join(workDir, 'does-not-exist');
  assert.throws(
    () => readIdxFile(path),
    (error: unknown) => {
      assert.ok(error instanceof DataFileNotFoundError);
      assert.equal(error.paths[0], path);
      return true;
    }
  );
});

test('encodeIdx rejects inconsistent input', () => {
  assert.throws(() => encodeIdx([2, 2], new Uint8Array(3)), hasCode('FL_DATA_INVALID_ARGUMENT'));
  assert.throws(() => encodeIdx([], new Uint8Array(1)), hasCode('FL_DATA_INVALID_ARGUMENT'));
  assert.throws(() => encodeIdx([-1], new Uint8Array(0)), hasCode('FL_DATA_INVALID_ARGUMENT'));
});
