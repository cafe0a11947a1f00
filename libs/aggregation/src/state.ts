import type { TensorMap } from '@asyncfl/protocol';
import { InvalidStateError, formatValue } from './errors';
import { describeNumberRule, satisfiesNumberRule, type NumberRule } from './options';

/**
 * Everything a rule needs to continue after a restart: the version, tensors (weights,
 * optimizer slots, kept versions) and scalars (step counts, running means, histories).
 * Tensor keys are `<group>/<tensor name>`, for example `weights/dense/kernel`.
 */
export interface AggregationState {
  version: number;
  tensors: TensorMap;
  scalars: Record<string, number>;
}

/** Version of the state layout, stored as the scalar `format`. */
export const STATE_FORMAT = 1;

/** Numeric code of each rule kind, stored as the scalar `rule` to catch cross-kind imports. */
export const RULE_CODES = { fedasync: 1, fedbuff: 2, asyncsgd: 3 } as const;

/** Reads a scalar and checks it against `rule`. Throws InvalidStateError. */
export function readStateScalar(state: AggregationState, key: string, rule: NumberRule): number {
  const value = state.scalars[key];
  if (!satisfiesNumberRule(value, rule)) {
    const message = `state scalar '${key}' must be ${describeNumberRule(rule)} (got ${formatValue(value)})`;
    throw new InvalidStateError(message, key);
  }
  return value;
}

/** Copies the state tensor `key` into `target`. Throws InvalidStateError on absence or size. */
export function copyStateTensor(state: AggregationState, key: string, target: Float32Array): void {
  const values = state.tensors.get(key);
  if (!(values instanceof Float32Array)) {
    throw new InvalidStateError(`state tensor '${key}' is missing`, key);
  }
  if (values.length !== target.length) {
    throw new InvalidStateError(
      `state tensor '${key}' has ${values.length} elements, expected ${target.length}`,
      key
    );
  }
  target.set(values);
}

/** Checks the state's shape, format and rule kind before any field is read. */
export function checkStateHeader(state: AggregationState, ruleCode: number, ruleName: string) {
  const wellFormed =
    typeof state === 'object' &&
    state !== null &&
    state.tensors instanceof Map &&
    typeof state.scalars === 'object' &&
    state.scalars !== null;
  if (!wellFormed) {
    throw new InvalidStateError(
      `state must be an object with a tensors Map and a scalars object (got ${formatValue(state)})`
    );
  }
  if (!Number.isSafeInteger(state.version) || state.version < 0) {
    throw new InvalidStateError(
      `state version must be a non-negative integer (got ${formatValue(state.version)})`,
      'version'
    );
  }
  const format = state.scalars['format'];
  if (format !== STATE_FORMAT) {
    throw new InvalidStateError(
      `state scalar 'format' must be ${STATE_FORMAT} (got ${formatValue(format)})`,
      'format'
    );
  }
  const rule = state.scalars['rule'];
  if (rule !== ruleCode) {
    throw new InvalidStateError(
      `state was exported by another rule kind: scalar 'rule' is ${formatValue(rule)}, ${ruleName} uses ${ruleCode}`,
      'rule'
    );
  }
}
