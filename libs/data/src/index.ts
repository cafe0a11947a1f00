export { BatchSampler } from './batch-sampler';
export { PoissonSampler } from './poisson-sampler';
export {
  CIFAR10_FILES,
  CIFAR10_IMAGE_SHAPE,
  CIFAR10_NUM_CLASSES,
  CIFAR10_RECORD_BYTES,
  loadCifar10Directory,
  parseCifar10Batches,
} from './cifar';
export type { Batch } from './batch-sampler';
export { countLabels, featureSize, subset, validateDataset } from './dataset';
export type { Dataset } from './dataset';
export {
  CifarRecordSizeError,
  DataError,
  DataFileNotFoundError,
  EmptyShardError,
  GzipDecompressionError,
  IdxBadMagicError,
  IdxCountMismatchError,
  IdxRankMismatchError,
  IdxTrailingBytesError,
  IdxTruncatedError,
  IndexOutOfRangeError,
  InvalidArgumentError,
  InvalidDatasetError,
  InvalidSeedError,
  LabelOutOfRangeError,
  MnistDigitFileError,
  MnistPackageNotFoundError,
  PartitionInfeasibleError,
  UnknownPartitionerError,
  formatMagic,
} from './errors';
export {
  IDX_UNSIGNED_BYTE,
  MNIST_IDX_FILES,
  encodeIdx,
  loadIdxDataset,
  loadIdxDirectory,
  parseIdx,
  readIdxFile,
  writeIdx,
} from './idx';
export type { IdxArray } from './idx';
export {
  MNIST_FEATURE_SIZE,
  MNIST_IMAGE_SHAPE,
  MNIST_NUM_CLASSES,
  loadMnistDigits,
  loadMnistDigitsFromDirectory,
  locateMnistDigitsDirectory,
} from './mnist-package';
export {
  DEFAULT_CLASSES_PER_WORKER,
  DEFAULT_CONCENTRATION,
  createDirichletPartitioner,
  createShardsPartitioner,
} from './label-skew';
export { PARTITIONER_NAMES, createPartitioner, iidPartitioner, validateWorld } from './partition';
export type { Partitioner, PartitionerOptions } from './partition';
export { Xoshiro128StarStar, createRng, randomPermutation, shuffleInPlace } from './rng';
export type { Rng } from './rng';
export { splitTrainTest } from './split';
export type { SplitOptions, TrainTestSplit } from './split';
export { loadDataSplit } from './source';
export type { DataSourceOptions } from './source';
