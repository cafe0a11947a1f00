import { assertOption, formatValue, InvalidOptionError } from './errors';

/** A configuration object after the check that it is a plain object. */
export type OptionObject = Record<string, unknown>;

/** Range and integrality required of a numeric option. */
export interface NumberRule {
  readonly min?: number;
  readonly minExclusive?: boolean;
  readonly max?: number;
  readonly maxExclusive?: boolean;
  readonly integer?: boolean;
}

/** Returns `parent.key`, or `key` at the top level. */
export function joinPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

/** Checks that `value` is a plain object and returns it. */
export function readObject(value: unknown, path: string): OptionObject {
  assertOption(
    typeof value === 'object' && value !== null && !Array.isArray(value),
    path === '' ? 'config' : path,
    value,
    () => 'an object'
  );
  return value as OptionObject;
}

/** Rejects keys of `object` outside `allowed`, so that a misspelt option fails loudly. */
export function rejectUnknownKeys(object: OptionObject, allowed: readonly string[], path: string) {
  for (const key of Object.keys(object)) {
    if (allowed.includes(key)) continue;
    const keyPath = joinPath(path, key);
    const owner = path === '' ? 'the rule config' : `'${path}'`;
    const message =
      `'${keyPath}' is not a known option (got ${formatValue(object[key])}). ` +
      `Known options of ${owner}: ${allowed.join(', ')}.`;
    throw new InvalidOptionError(keyPath, object[key], message);
  }
}

/** Describes a number rule for an error message, for example `a finite number in (0, 1]`. */
export function describeNumberRule(rule: NumberRule): string {
  const noun = rule.integer === true ? 'an integer' : 'a finite number';
  const { min, max } = rule;
  if (min !== undefined && max !== undefined) {
    const open = rule.minExclusive === true ? '(' : '[';
    const close = rule.maxExclusive === true ? ')' : ']';
    return `${noun} in ${open}${min}, ${max}${close}`;
  }
  if (min !== undefined) return `${noun} ${rule.minExclusive === true ? '>' : '>='} ${min}`;
  if (max !== undefined) return `${noun} ${rule.maxExclusive === true ? '<' : '<='} ${max}`;
  return noun;
}

/** Returns whether `value` is a number that satisfies `rule`. */
export function satisfiesNumberRule(value: unknown, rule: NumberRule): value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  if (rule.integer === true && !Number.isSafeInteger(value)) return false;
  if (rule.min !== undefined) {
    if (rule.minExclusive === true ? value <= rule.min : value < rule.min) return false;
  }
  if (rule.max !== undefined) {
    if (rule.maxExclusive === true ? value >= rule.max : value > rule.max) return false;
  }
  return true;
}

/** Reads a numeric option, using `fallback` when the key is absent and a fallback is given. */
export function readNumber(
  object: OptionObject,
  key: string,
  path: string,
  rule: NumberRule,
  fallback?: number
): number {
  const value = object[key];
  if (value === undefined && fallback !== undefined) return fallback;
  assertOption(satisfiesNumberRule(value, rule), joinPath(path, key), value, () =>
    describeNumberRule(rule)
  );
  return value;
}

/** Reads an option that must be one of `choices`. */
export function readChoice<T extends string>(
  object: OptionObject,
  key: string,
  path: string,
  choices: readonly T[],
  fallback?: T
): T {
  const value = object[key];
  if (value === undefined && fallback !== undefined) return fallback;
  assertOption(choices.includes(value as T), joinPath(path, key), value, () => {
    return `one of ${choices.map((choice) => `'${choice}'`).join(', ')}`;
  });
  return value as T;
}

/** Reads a boolean option. */
export function readBoolean(
  object: OptionObject,
  key: string,
  path: string,
  fallback: boolean
): boolean {
  const value = object[key];
  if (value === undefined) return fallback;
  assertOption(typeof value === 'boolean', joinPath(path, key), value, () => 'true or false');
  return value;
}
