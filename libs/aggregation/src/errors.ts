import type { RejectReason } from './reasons';

/** Stable codes of the errors this library throws, one per failure kind. */
export const AGGREGATION_ERROR_CODES = [
  'FL_AGG_INVALID_OPTION',
  'FL_AGG_INVALID_ARGUMENT',
  'FL_AGG_INVALID_MODEL',
  'FL_AGG_INVALID_STATE',
  'FL_AGG_UPDATE_REJECTED',
] as const;

export type AggregationErrorCode = (typeof AGGREGATION_ERROR_CODES)[number];

/** Base class of every error thrown by the aggregation library. */
export abstract class AggregationError extends Error {
  abstract readonly code: AggregationErrorCode;
}

/** A rule configuration option is missing, unknown, of the wrong type or out of range. */
export class InvalidOptionError extends AggregationError {
  readonly code = 'FL_AGG_INVALID_OPTION';
  /** Dotted path of the option, for example `optimizer.beta1`. */
  readonly path: string;
  readonly value: unknown;

  /** Builds the error from a full message. `assertOption` builds the usual 'must be' message. */
  constructor(path: string, value: unknown, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidOptionError';
    this.path = path;
    this.value = value;
  }
}

/** A function argument outside the configuration, such as a staleness value, is invalid. */
export class InvalidArgumentError extends AggregationError {
  readonly code = 'FL_AGG_INVALID_ARGUMENT';
  readonly argument: string;
  readonly value: unknown;

  constructor(argument: string, value: unknown, requirement: string, options?: ErrorOptions) {
    super(`'${argument}' must be ${requirement} (got ${formatValue(value)})`, options);
    this.name = 'InvalidArgumentError';
    this.argument = argument;
    this.value = value;
  }
}

/** The model spec or the initial weights passed to `createRule` are inconsistent. */
export class InvalidModelError extends AggregationError {
  readonly code = 'FL_AGG_INVALID_MODEL';
  /** Name of the offending tensor, or undefined when the problem is the spec as a whole. */
  readonly tensorName: string | undefined;

  constructor(message: string, tensorName?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidModelError';
    this.tensorName = tensorName;
  }
}

/** A state passed to `importState` does not match the rule that imports it. */
export class InvalidStateError extends AggregationError {
  readonly code = 'FL_AGG_INVALID_STATE';
  /** Tensor or scalar key that is missing or wrong, or undefined for a whole-state mismatch. */
  readonly key: string | undefined;

  constructor(message: string, key?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidStateError';
    this.key = key;
  }
}

/** `submit` was called with an update that admission rejects. The model is unchanged. */
export class UpdateRejectedError extends AggregationError {
  readonly code = 'FL_AGG_UPDATE_REJECTED';
  readonly updateId: string;
  readonly reason: RejectReason;
  readonly detail: string;

  constructor(updateId: string, reason: RejectReason, detail: string, options?: ErrorOptions) {
    super(`update ${formatValue(updateId)} rejected (${reason}): ${detail}`, options);
    this.name = 'UpdateRejectedError';
    this.updateId = updateId;
    this.reason = reason;
    this.detail = detail;
  }
}

/**
 * Throws the error built by `makeError` unless `condition` holds. The error is built lazily so
 * that passing checks cost no string formatting.
 */
export function assert(condition: boolean, makeError: () => Error): asserts condition {
  if (!condition) throw makeError();
}

/** Throws an InvalidOptionError for `path` unless `condition` holds. */
export function assertOption(
  condition: boolean,
  path: string,
  value: unknown,
  requirement: () => string
): asserts condition {
  if (!condition) {
    const message = `'${path}' must be ${requirement()} (got ${formatValue(value)})`;
    throw new InvalidOptionError(path, value, message);
  }
}

const MAX_FORMATTED_LENGTH = 80;

/** Formats a value for an error message: strings quoted, objects as truncated JSON. */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  if (value === undefined) return 'undefined';
  if (value instanceof Float32Array) return `Float32Array(${value.length})`;
  if (typeof value === 'function') return 'a function';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > MAX_FORMATTED_LENGTH ? `${text.slice(0, MAX_FORMATTED_LENGTH)}...` : text;
}
