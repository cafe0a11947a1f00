import { shapeSize } from '@asyncfl/protocol';

/** Base class of every error that this library throws. `code` is stable across releases. */
export abstract class ModelError extends Error {
  abstract readonly code: string;
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** A requested compute backend could not be loaded, set or verified. */
export class BackendUnavailableError extends ModelError {
  readonly code = 'FL_MODEL_BACKEND_UNAVAILABLE';
  /** Preference that failed: 'tensorflow', 'wasm', 'cpu' or 'auto'. */
  readonly backend: string;
  /** Cause of the failure. For 'auto', the causes for every candidate. */
  readonly reason: string;

  constructor(backend: string, reason: string, options?: ErrorOptions) {
    super(`backend '${backend}' is unavailable: ${reason}`, options);
    this.name = 'BackendUnavailableError';
    this.backend = backend;
    this.reason = reason;
  }
}

/** `createModel` received a name that is not in the model registry. */
export class UnknownModelError extends ModelError {
  readonly code = 'FL_MODEL_UNKNOWN_MODEL';
  readonly modelName: string;
  readonly knownNames: readonly string[];

  constructor(modelName: string, knownNames: readonly string[]) {
    super(`unknown model '${modelName}': expected one of ${knownNames.join(', ')}`);
    this.name = 'UnknownModelError';
    this.modelName = modelName;
    this.knownNames = knownNames;
  }
}

/** An option or argument has a value outside its allowed range. */
export class InvalidOptionError extends ModelError {
  readonly code = 'FL_MODEL_INVALID_OPTION';
  readonly option: string;
  readonly value: unknown;

  /** `expected` completes "expected ..." in the message, e.g. "a finite number > 0". */
  constructor(option: string, value: unknown, expected: string) {
    super(`invalid ${option} ${describeValue(value)}: expected ${expected}`);
    this.name = 'InvalidOptionError';
    this.option = option;
    this.value = value;
  }
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return `[${value.map(String).join(',')}]`;
  return String(value);
}

/** `setWeights` received no values for a tensor of the model. */
export class WeightMissingError extends ModelError {
  readonly code = 'FL_MODEL_WEIGHT_MISSING';
  readonly tensorName: string;

  constructor(tensorName: string, expectedCount: number, receivedCount: number) {
    super(
      `tensor '${tensorName}' is missing from the weights: the model has ${expectedCount} tensors, ` +
        `the weights contain ${receivedCount}`
    );
    this.name = 'WeightMissingError';
    this.tensorName = tensorName;
  }
}

/** `setWeights` received values under a name that the model does not have. */
export class WeightUnknownError extends ModelError {
  readonly code = 'FL_MODEL_WEIGHT_UNKNOWN';
  readonly tensorName: string;

  constructor(tensorName: string) {
    super(`tensor '${tensorName}' is not a weight of the model`);
    this.name = 'WeightUnknownError';
    this.tensorName = tensorName;
  }
}

/** Values for a tensor have a different element count than the model's tensor. */
export class ShapeMismatchError extends ModelError {
  readonly code = 'FL_MODEL_SHAPE_MISMATCH';
  readonly tensorName: string;
  readonly expectedShape: readonly number[];
  readonly actualLength: number;

  constructor(tensorName: string, expectedShape: readonly number[], actualLength: number) {
    super(
      `tensor '${tensorName}': ${actualLength} values do not match the model's shape ` +
        `${formatShape(expectedShape)} (${shapeSize(expectedShape)} values)`
    );
    this.name = 'ShapeMismatchError';
    this.tensorName = tensorName;
    this.expectedShape = expectedShape;
    this.actualLength = actualLength;
  }
}

/** A model weight has a dtype other than float32, which `ModelSpec` cannot describe. */
export class UnsupportedDtypeError extends ModelError {
  readonly code = 'FL_MODEL_UNSUPPORTED_DTYPE';
  readonly tensorName: string;
  readonly dtype: string;

  constructor(tensorName: string, dtype: string) {
    super(`tensor '${tensorName}' has dtype ${dtype}: only float32 weights are supported`);
    this.name = 'UnsupportedDtypeError';
    this.tensorName = tensorName;
    this.dtype = dtype;
  }
}

/** Two weights of one model share a name, so name-based transfer would be ambiguous. */
export class DuplicateWeightNameError extends ModelError {
  readonly code = 'FL_MODEL_DUPLICATE_WEIGHT_NAME';
  readonly tensorName: string;

  constructor(tensorName: string) {
    super(
      `tensor name '${tensorName}' occurs more than once in the model: give every layer a unique name`
    );
    this.name = 'DuplicateWeightNameError';
    this.tensorName = tensorName;
  }
}

/** The model's inputs or outputs do not fit training or evaluation of a classifier. */
export class UnsupportedModelError extends ModelError {
  readonly code = 'FL_MODEL_UNSUPPORTED_ARCHITECTURE';
  readonly modelName: string;

  constructor(modelName: string, problem: string) {
    super(`model '${modelName}' is not supported: ${problem}`);
    this.name = 'UnsupportedModelError';
    this.modelName = modelName;
  }
}

/** Batch arrays whose lengths disagree with the batch size or the model's input size. */
export class InvalidBatchError extends ModelError {
  readonly code = 'FL_MODEL_INVALID_BATCH';
  /** Name of the offending argument, e.g. 'x' or 'labels'. */
  readonly argument: string;
  readonly expectedLength: number;
  readonly actualLength: number;

  constructor(argument: string, expectedLength: number, actualLength: number, detail: string) {
    super(`${argument} has ${actualLength} elements, expected ${expectedLength} (${detail})`);
    this.name = 'InvalidBatchError';
    this.argument = argument;
    this.expectedLength = expectedLength;
    this.actualLength = actualLength;
  }
}

/** A label is not a valid class index for the model's output. */
export class LabelOutOfRangeError extends ModelError {
  readonly code = 'FL_MODEL_LABEL_OUT_OF_RANGE';
  readonly index: number;
  readonly label: number;
  readonly classCount: number;

  constructor(index: number, label: number, classCount: number) {
    super(`label ${label} at index ${index} is out of range: the model has ${classCount} classes`);
    this.name = 'LabelOutOfRangeError';
    this.index = index;
    this.label = label;
    this.classCount = classCount;
  }
}

/** Writing an exported model to disk failed. */
export class ModelExportError extends ModelError {
  readonly code = 'FL_MODEL_EXPORT_FAILED';
  readonly dir: string;

  constructor(dir: string, problem: string, options?: ErrorOptions) {
    super(`exporting the model to '${dir}' failed: ${problem}`, options);
    this.name = 'ModelExportError';
    this.dir = dir;
  }
}

/** Reading an exported model from disk failed or found malformed content. */
export class ModelLoadError extends ModelError {
  readonly code = 'FL_MODEL_LOAD_FAILED';
  /** File or directory that could not be loaded. */
  readonly path: string;

  constructor(path: string, problem: string, options?: ErrorOptions) {
    super(`loading the model from '${path}' failed: ${problem}`, options);
    this.name = 'ModelLoadError';
    this.path = path;
  }
}

/** The active tfjs backend has no kernel for an operation that training the model needs. */
export class KernelUnavailableError extends ModelError {
  readonly code = 'FL_MODEL_KERNEL_UNAVAILABLE';
  readonly modelName: string;
  /** tfjs backend name, as `tf.getBackend()` returns it. */
  readonly backend: string;
  /** tfjs kernel name, such as 'Conv2DBackpropFilter'. */
  readonly kernelName: string;

  constructor(modelName: string, backend: string, kernelName: string, options?: ErrorOptions) {
    super(
      `model '${modelName}' cannot train on the '${backend}' backend: tfjs has no ` +
        `'${kernelName}' kernel registered for '${backend}'; choose another backend`,
      options
    );
    this.name = 'KernelUnavailableError';
    this.modelName = modelName;
    this.backend = backend;
    this.kernelName = kernelName;
  }
}
