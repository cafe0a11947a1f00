import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { countLabels, validateDataset } from './dataset';
import { DataFileNotFoundError, MnistDigitFileError } from './errors';
import {
  MNIST_FEATURE_SIZE,
  loadMnistDigits,
  loadMnistDigitsFromDirectory,
  locateMnistDigitsDirectory,
} from './mnist-package';

test('loadMnistDigits returns 10,000 valid digits', () => {
  const digits = loadMnistDigits();
  assert.equal(digits.count, 10_000);
  assert.deepEqual(digits.imageShape, [28, 28, 1]);
  assert.equal(digits.numClasses, 10);
  assert.equal(digits.images.length, 10_000 * 784);
  assert.equal(digits.labels.length, 10_000);
  validateDataset(digits);
});

test('loadMnistDigits pixels span [0, 1]', () => {
  const { images } = loadMnistDigits();
  let min = Infinity;
  let max = -Infinity;
  for (const value of images) {
    if (value < min) min = value;
    if (value > max) max = value;
  }
  assert.equal(min, 0);
  assert.equal(max, 1);
});

test('loadMnistDigits classes are roughly balanced', () => {
  const counts = countLabels(loadMnistDigits().labels, 10);
  for (const [digit, count] of counts.entries()) {
    assert.ok(count >= 800, `digit ${digit} has only ${count} images`);
    assert.ok(count <= 1200, `digit ${digit} has ${count} images`);
  }
});

test('loadMnistDigits sorts by digit', () => {
  const { labels } = loadMnistDigits();
  for (let i = 1; i < labels.length; i++) {
    assert.ok(labels[i - 1]! <= labels[i]!, `label ${labels[i]} at ${i} follows ${labels[i - 1]}`);
  }
  assert.equal(labels[0], 0);
  assert.equal(labels[labels.length - 1], 9);
});

test('loadMnistDigits caches one frozen object', () => {
  const first = loadMnistDigits();
  assert.equal(loadMnistDigits(), first);
  assert.ok(Object.isFrozen(first));
  assert.ok(Object.isFrozen(first.imageShape));
});

test('locateMnistDigitsDirectory finds package', () => {
  const directory = locateMnistDigitsDirectory();
  assert.match(directory, /mnist[\\/]src[\\/]digits$/);
});

// Digit files of a miniature package: digit d has d + 1 images whose pixels all equal d / 9.
let fixtureDir = '';

function writeDigitFile(digit: number, content: string): void {
  writeFileSync(join(fixtureDir, `${digit}.json`), content);
}

function validDigitFile(digit: number): string {
  const data = new Array<number>((digit + 1) * MNIST_FEATURE_SIZE).fill(digit / 9);
  return JSON.stringify({ data });
}

before(() => {
  fixtureDir = mkdtempSync(join(tmpdir(), 'asyncfl-mnist-'));
});

after(() => {
  rmSync(fixtureDir, { recursive: true, force: true });
});

function resetFixture(): void {
  for (let digit = 0; digit < 10; digit++) writeDigitFile(digit, validDigitFile(digit));
}

test('digit directory loads in digit order', () => {
  resetFixture();
  const dataset = loadMnistDigitsFromDirectory(fixtureDir);
  assert.equal(dataset.count, 55);
  assert.deepEqual(countLabels(dataset.labels, 10), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(dataset.labels[3], 2);
  assert.equal(dataset.images[3 * MNIST_FEATURE_SIZE], Math.fround(2 / 9));
  validateDataset(dataset);
});

test('digit file of wrong length is rejected', () => {
  resetFixture();
  writeDigitFile(4, JSON.stringify({ data: new Array(MNIST_FEATURE_SIZE + 5).fill(0) }));
  assert.throws(
    () => loadMnistDigitsFromDirectory(fixtureDir),
    (error: unknown) => {
      assert.ok(error instanceof MnistDigitFileError);
      assert.equal(error.code, 'FL_DATA_BAD_DIGIT_FILE');
      assert.equal(error.digit, 4);
      assert.equal(error.file, join(fixtureDir, '4.json'));
      assert.match(error.message, /789 values, expected a positive multiple of 784/);
      return true;
    }
  );
});

test('digit file with bad content is rejected', () => {
  const cases: Array<[string, RegExp]> = [
    ['{"data": [', /not valid JSON/],
    ['[0, 1]', /"data" array/],
    ['{"pixels": []}', /"data" array/],
    ['{"data": []}', /0 values/],
    [JSON.stringify({ data: [...new Array(783).fill(0), 1.5] }), /1\.5 at data\[783\] \(image 0\)/],
    [JSON.stringify({ data: [...new Array(783).fill(0), '0'] }), /"0" at data\[783\]/],
  ];
  for (const [content, pattern] of cases) {
    resetFixture();
    writeDigitFile(7, content);
    assert.throws(
      () => loadMnistDigitsFromDirectory(fixtureDir),
      (error: unknown) => {
        assert.ok(error instanceof MnistDigitFileError);
        assert.equal(error.digit, 7);
        assert.match(error.message, pattern);
        return true;
      },
      `content ${content.slice(0, 40)}`
    );
  }
});

test('missing digit file is reported', () => {
  resetFixture();
  unlinkSync(join(fixtureDir, '9.json'));
  assert.throws(
    () => loadMnistDigitsFromDirectory(fixtureDir),
    (error: unknown) => {
      assert.ok(error instanceof DataFileNotFoundError);
      assert.equal(error.code, 'FL_DATA_FILE_NOT_FOUND');
      assert.equal(error.paths[0], join(fixtureDir, '9.json'));
      return true;
    }
  );
});
