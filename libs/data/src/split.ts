import { countLabels, subset, type Dataset } from './dataset';
import { InvalidArgumentError } from './errors';
import { createRng, randomPermutation } from './rng';

export interface SplitOptions {
  /** Number of examples in the test set, an integer in [1, count - 1]. */
  readonly testSize: number;
  /** Seed of the shuffle. The same seed and dataset give the same split. */
  readonly seed: number;
  /**
   * When true (the default), each class gets a share of the test set proportional to its share
   * of the dataset, rounded by the largest-remainder method, so a class's test count differs
   * from the exact proportion by less than 1. When false, the test set is a uniform random
   * sample of `testSize` examples.
   */
  readonly stratify?: boolean;
}

export interface TrainTestSplit {
  readonly train: Dataset;
  readonly test: Dataset;
}

/**
 * Splits `dataset` into disjoint train and test sets that together contain every example once.
 * Both sets are copies in shuffled order, so neither is sorted by label even when the input is.
 */
export function splitTrainTest(dataset: Dataset, options: SplitOptions): TrainTestSplit {
  const { testSize, seed, stratify = true } = options;
  if (!Number.isSafeInteger(testSize) || testSize < 1 || testSize > dataset.count - 1) {
    throw new InvalidArgumentError(
      'testSize',
      testSize,
      `an integer in [1, ${dataset.count - 1}] for a dataset of ${dataset.count} examples`
    );
  }
  const permutation = randomPermutation(dataset.count, createRng(seed));

  const testQuota = stratify
    ? allocateProportionally(countLabels(dataset.labels, dataset.numClasses), testSize)
    : null;
  const testIndices = new Uint32Array(testSize);
  const trainIndices = new Uint32Array(dataset.count - testSize);
  let testCount = 0;
  let trainCount = 0;
  for (let i = 0; i < permutation.length; i++) {
    const index = permutation[i]!;
    let toTest: boolean;
    if (testQuota === null) {
      toTest = testCount < testSize;
    } else {
      const label = dataset.labels[index]!;
      toTest = testQuota[label]! > 0;
      if (toTest) testQuota[label]!--;
    }
    if (toTest) {
      testIndices[testCount++] = index;
    } else {
      trainIndices[trainCount++] = index;
    }
  }
  return { train: subset(dataset, trainIndices), test: subset(dataset, testIndices) };
}

/**
 * Divides `total` among classes in proportion to `classCounts` with the largest-remainder
 * method. Ties in the remainder go to the lower class index. Requires `total` < sum of counts,
 * which keeps every share within its class count.
 */
function allocateProportionally(classCounts: readonly number[], total: number): number[] {
  const sum = classCounts.reduce((a, b) => a + b, 0);
  const exact = classCounts.map((count) => (count * total) / sum);
  const shares = exact.map((value) => Math.floor(value));
  let remaining = total - shares.reduce((a, b) => a + b, 0);
  const byRemainder = exact
    .map((value, label) => ({ label, remainder: value - Math.floor(value) }))
    .sort((a, b) => b.remainder - a.remainder || a.label - b.label);
  for (const { label } of byRemainder) {
    if (remaining === 0) break;
    shares[label]!++;
    remaining--;
  }
  return shares;
}
