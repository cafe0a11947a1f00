import { InvalidArgumentError } from './errors';
import { readChoice, readNumber, readObject, rejectUnknownKeys } from './options';

/** Staleness function kinds. Each maps a staleness d (whole versions) to a weight in (0, 1]. */
export const STALENESS_KINDS = ['constant', 'polynomial', 'hinge', 'fedbuff', 'inverse'] as const;

export type StalenessKind = (typeof STALENESS_KINDS)[number];

/**
 * Staleness function with its parameters:
 * - constant: s(d) = 1
 * - polynomial: s(d) = (d + 1)^(-a)
 * - hinge: s(d) = 1 when d <= b, else 1 / (a (d - b) + 1)
 * - fedbuff: s(d) = 1 / sqrt(1 + d)
 * - inverse: s(d) = 1 / max(1, d)
 */
export type StalenessConfig =
  | { readonly kind: 'constant' }
  | { readonly kind: 'polynomial'; readonly a: number }
  | { readonly kind: 'hinge'; readonly a: number; readonly b: number }
  | { readonly kind: 'fedbuff' }
  | { readonly kind: 'inverse' };

/** Maps a staleness (a non-negative integer) to its weight. */
export type StalenessFunction = (staleness: number) => number;

/** Constructors for each staleness config, for code that builds configs by hand. */
export const stalenessConfigs = {
  constant: (): StalenessConfig => ({ kind: 'constant' }),
  polynomial: (a: number): StalenessConfig => ({ kind: 'polynomial', a }),
  hinge: (a: number, b: number): StalenessConfig => ({ kind: 'hinge', a, b }),
  fedbuff: (): StalenessConfig => ({ kind: 'fedbuff' }),
  inverse: (): StalenessConfig => ({ kind: 'inverse' }),
} as const;

/**
 * Validates an untrusted staleness config and returns a typed copy. Errors name the option
 * below `path`, for example `staleness.a`.
 */
export function validateStalenessConfig(value: unknown, path = 'staleness'): StalenessConfig {
  const object = readObject(value, path);
  const kind = readChoice(object, 'kind', path, STALENESS_KINDS);
  switch (kind) {
    case 'polynomial': {
      rejectUnknownKeys(object, ['kind', 'a'], path);
      return { kind, a: readNumber(object, 'a', path, { min: 0, minExclusive: true }) };
    }
    case 'hinge': {
      rejectUnknownKeys(object, ['kind', 'a', 'b'], path);
      const a = readNumber(object, 'a', path, { min: 0, minExclusive: true });
      const b = readNumber(object, 'b', path, { min: 0, integer: true });
      return { kind, a, b };
    }
    case 'constant':
    case 'fedbuff':
    case 'inverse': {
      rejectUnknownKeys(object, ['kind'], path);
      return { kind };
    }
  }
}

/** Describes a staleness config, for example `polynomial a=0.5`. */
export function describeStaleness(config: StalenessConfig): string {
  switch (config.kind) {
    case 'constant':
      return 'constant';
    case 'polynomial':
      return `polynomial a=${config.a}`;
    case 'hinge':
      return `hinge a=${config.a} b=${config.b}`;
    case 'fedbuff':
      return 'fedbuff 1/sqrt(1+d)';
    case 'inverse':
      return 'inverse 1/max(1,d)';
  }
}

/**
 * Builds the staleness function for a config after validating it. The function throws
 * InvalidArgumentError unless its argument is a non-negative safe integer.
 */
export function makeStaleness(config: StalenessConfig): StalenessFunction {
  const checked = validateStalenessConfig(config);
  const weigh = weighFunction(checked);
  return (staleness: number): number => {
    if (!Number.isSafeInteger(staleness) || staleness < 0) {
      throw new InvalidArgumentError('staleness', staleness, 'a non-negative integer');
    }
    return weigh(staleness);
  };
}

function weighFunction(config: StalenessConfig): StalenessFunction {
  switch (config.kind) {
    case 'constant':
      return () => 1;
    case 'polynomial': {
      const exponent = -config.a;
      return (d) => Math.pow(d + 1, exponent);
    }
    case 'hinge': {
      const { a, b } = config;
      return (d) => (d <= b ? 1 : 1 / (a * (d - b) + 1));
    }
    case 'fedbuff':
      return (d) => 1 / Math.sqrt(1 + d);
    case 'inverse':
      return (d) => 1 / Math.max(1, d);
  }
}
