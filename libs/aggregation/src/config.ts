import { assertOption } from './errors';
import {
  joinPath,
  readBoolean,
  readChoice,
  readNumber,
  readObject,
  rejectUnknownKeys,
  type OptionObject,
} from './options';
import { validateStalenessConfig, type StalenessConfig } from './staleness';
import { EXAMPLE_WEIGHTINGS, type ExampleWeighting } from './weighting';

export const RULE_KINDS = ['fedasync', 'fedbuff', 'asyncsgd'] as const;
export const OPTIMIZER_KINDS = ['sgd', 'momentum', 'adam', 'yogi', 'adagrad'] as const;
export const BUFFER_AGGREGATORS = ['mean', 'median', 'trimmedMean'] as const;

export type RuleKind = (typeof RULE_KINDS)[number];
export type OptimizerKind = (typeof OPTIMIZER_KINDS)[number];

/**
 * Server optimizer of FedBuff, applied to the buffer's pseudo-gradient g. Defaults follow
 * Reddi et al., "Adaptive Federated Optimization" (ICLR 2021): beta1 0.9, beta2 0.99,
 * tau 1e-3 and a second moment that starts at tau^2.
 */
export type OptimizerConfig =
  | { readonly kind: 'sgd' }
  | { readonly kind: 'momentum'; readonly momentum?: number; readonly nesterov?: boolean }
  | {
      readonly kind: 'adam' | 'yogi';
      readonly beta1?: number;
      readonly beta2?: number;
      /** Adaptivity constant added to sqrt(v) in the denominator. */
      readonly tau?: number;
      /** Starting value of the second moment v. Defaults to tau^2. */
      readonly initialAccumulator?: number;
    }
  | {
      readonly kind: 'adagrad';
      readonly beta1?: number;
      readonly tau?: number;
      readonly initialAccumulator?: number;
    };

/** Optimizer config with every default filled in. */
export type ResolvedOptimizerConfig =
  | { readonly kind: 'sgd' }
  | { readonly kind: 'momentum'; readonly momentum: number; readonly nesterov: boolean }
  | {
      readonly kind: 'adam' | 'yogi' | 'adagrad';
      readonly beta1: number;
      /** Unused by adagrad, which sums squares without decay. */
      readonly beta2: number;
      readonly tau: number;
      readonly initialAccumulator: number;
    };

/** Statistic that a FedBuff flush applies to the buffered, weighted deltas to form g. */
export type BufferAggregatorConfig =
  | { readonly kind: 'mean' }
  | { readonly kind: 'median' }
  /** Drops floor(beta * K) largest and smallest values per coordinate, then averages. */
  | { readonly kind: 'trimmedMean'; readonly beta: number };

/** Per-update L2 clipping of the delta (trainable tensors only) to `maxNorm`. */
export interface ClipConfig {
  readonly maxNorm: number;
}

/**
 * Cap on one rank's share of the weight of the last `window` accepted updates. `window`
 * defaults to 4 * `worldSize`, so one of the two must be given.
 */
export interface RankShareConfig {
  readonly maxShare: number;
  readonly window?: number;
  readonly worldSize?: number;
}

/**
 * Rejection of updates whose delta norm exceeds `maxRatio` times the median norm of the last
 * `window` accepted updates. The check starts once `minSamples` norms are recorded.
 */
export interface NormOutlierConfig {
  readonly maxRatio: number;
  readonly window?: number;
  readonly minSamples?: number;
}

/** Options shared by every rule kind. */
export interface CommonRuleOptions {
  readonly staleness: StalenessConfig;
  /** Largest accepted staleness d = version - baseVersion, in versions. */
  readonly maxStaleness: number;
  /** Defaults to 'equal'. */
  readonly exampleWeighting?: ExampleWeighting;
  readonly clip?: ClipConfig;
  readonly rankShare?: RankShareConfig;
  readonly normOutlier?: NormOutlierConfig;
}

/** FedAsync: one new version per update. */
export interface FedAsyncConfig extends CommonRuleOptions {
  readonly kind: 'fedasync';
  /** Mixing weight alpha in (0, 1]. */
  readonly alpha: number;
  /** Defaults to 'delta'. */
  readonly form?: 'delta' | 'mixing';
  /** Mixing form only: versions of the weights kept, the current one included. */
  readonly window?: number;
}

/**
 * Gaussian noise on each FedBuff flush, for user-level differential privacy: one draw of
 * N(0, (noiseMultiplier * clip.maxNorm)^2) per coordinate is added to the buffer's weighted sum
 * before the division by K. It needs `clip`, the 'mean' aggregator, 'equal' example weighting
 * and no `normOutlier` check, so that one rank changes the sum by at most clip.maxNorm and no
 * rejection depends on an update's values.
 */
export interface BufferNoiseConfig {
  readonly noiseMultiplier: number;
}

/** FedBuff: one new version per flush of `bufferSize` updates. */
export interface FedBuffConfig extends CommonRuleOptions {
  readonly kind: 'fedbuff';
  readonly bufferSize: number;
  readonly serverLr: number;
  /** Defaults to sgd. */
  readonly optimizer?: OptimizerConfig;
  /** Defaults to mean. */
  readonly aggregator?: BufferAggregatorConfig;
  /** User-level DP noise on each flush. Off when absent. */
  readonly noise?: BufferNoiseConfig;
}

/** Asynchronous SGD on raw gradients: one new version per update. */
export interface AsyncSgdConfig extends CommonRuleOptions {
  readonly kind: 'asyncsgd';
  readonly lr: number;
}

export type RuleConfig = FedAsyncConfig | FedBuffConfig | AsyncSgdConfig;

/** Options shared by every rule kind, with defaults filled in. */
export interface ResolvedCommonOptions {
  readonly staleness: StalenessConfig;
  readonly maxStaleness: number;
  readonly exampleWeighting: ExampleWeighting;
  readonly clip: ClipConfig | undefined;
  readonly rankShare: { readonly maxShare: number; readonly window: number } | undefined;
  readonly normOutlier:
    { readonly maxRatio: number; readonly window: number; readonly minSamples: number } | undefined;
}

export interface ResolvedFedAsyncConfig extends ResolvedCommonOptions {
  readonly kind: 'fedasync';
  readonly alpha: number;
  readonly form: 'delta' | 'mixing';
  /** Kept versions in the mixing form, 1 in the delta form (which keeps none). */
  readonly window: number;
}

export interface ResolvedFedBuffConfig extends ResolvedCommonOptions {
  readonly kind: 'fedbuff';
  readonly bufferSize: number;
  readonly serverLr: number;
  readonly optimizer: ResolvedOptimizerConfig;
  readonly aggregator: BufferAggregatorConfig;
  readonly noise: BufferNoiseConfig | undefined;
}

export interface ResolvedAsyncSgdConfig extends ResolvedCommonOptions {
  readonly kind: 'asyncsgd';
  readonly lr: number;
}

export type ResolvedRuleConfig =
  ResolvedFedAsyncConfig | ResolvedFedBuffConfig | ResolvedAsyncSgdConfig;

/** Largest default window of the mixing form, in versions. Each version costs a model copy. */
export const DEFAULT_MIXING_WINDOW_MAX = 16;
export const DEFAULT_NORM_OUTLIER_WINDOW = 32;
export const DEFAULT_NORM_OUTLIER_MIN_SAMPLES = 8;

const COMMON_KEYS = [
  'kind',
  'staleness',
  'maxStaleness',
  'exampleWeighting',
  'clip',
  'rankShare',
  'normOutlier',
] as const;

const POSITIVE = { min: 0, minExclusive: true } as const;
const UNIT_INTERVAL_OPEN = { min: 0, max: 1, maxExclusive: true } as const;

/**
 * Validates an untrusted rule config, for example parsed JSON, and returns it with defaults
 * filled in. Throws InvalidOptionError naming the option path and the value it got.
 */
export function validateRuleConfig(value: unknown): ResolvedRuleConfig {
  const object = readObject(value, '');
  const kind = readChoice(object, 'kind', '', RULE_KINDS);
  switch (kind) {
    case 'fedasync':
      return validateFedAsync(object);
    case 'fedbuff':
      return validateFedBuff(object);
    case 'asyncsgd':
      return validateAsyncSgd(object);
  }
}

function validateFedAsync(object: OptionObject): ResolvedFedAsyncConfig {
  rejectUnknownKeys(object, [...COMMON_KEYS, 'alpha', 'form', 'window'], '');
  const common = validateCommon(object);
  const alpha = readNumber(object, 'alpha', '', { min: 0, minExclusive: true, max: 1 });
  const form = readChoice(object, 'form', '', ['delta', 'mixing'] as const, 'delta');
  let window = 1;
  if (form === 'mixing') {
    // Versions older than maxStaleness are rejected as too stale anyway, so keeping more than
    // maxStaleness + 1 versions would only cost memory.
    const fallback = Math.min(common.maxStaleness + 1, DEFAULT_MIXING_WINDOW_MAX);
    window = readNumber(object, 'window', '', { min: 1, integer: true }, fallback);
  } else {
    assertOption(object['window'] === undefined, 'window', object['window'], () => {
      return "absent unless 'form' is 'mixing', because the delta form keeps no old versions";
    });
  }
  return { kind: 'fedasync', ...common, alpha, form, window };
}

function validateFedBuff(object: OptionObject): ResolvedFedBuffConfig {
  rejectUnknownKeys(
    object,
    [...COMMON_KEYS, 'bufferSize', 'serverLr', 'optimizer', 'aggregator', 'noise'],
    ''
  );
  const common = validateCommon(object);
  const bufferSize = readNumber(object, 'bufferSize', '', { min: 1, integer: true });
  const serverLr = readNumber(object, 'serverLr', '', POSITIVE);
  const optimizer =
    object['optimizer'] === undefined
      ? ({ kind: 'sgd' } as const)
      : validateOptimizer(object['optimizer'], 'optimizer');
  const aggregator =
    object['aggregator'] === undefined
      ? ({ kind: 'mean' } as const)
      : validateAggregator(object['aggregator'], 'aggregator');
  const noise =
    object['noise'] === undefined
      ? undefined
      : validateBufferNoise(object['noise'], 'noise', common, aggregator);
  return { kind: 'fedbuff', ...common, bufferSize, serverLr, optimizer, aggregator, noise };
}

function validateBufferNoise(
  value: unknown,
  path: string,
  common: ResolvedCommonOptions,
  aggregator: BufferAggregatorConfig
): BufferNoiseConfig {
  const object = readObject(value, path);
  rejectUnknownKeys(object, ['noiseMultiplier'], path);
  const noiseMultiplier = readNumber(object, 'noiseMultiplier', path, POSITIVE);
  assertOption(common.clip !== undefined, 'clip', common.clip, () => {
    return "set when 'noise' is set, because the noise scale is noiseMultiplier * clip.maxNorm";
  });
  assertOption(aggregator.kind === 'mean', 'aggregator.kind', aggregator.kind, () => {
    return "'mean' when 'noise' is set, because the noise is calibrated to the buffer sum";
  });
  assertOption(
    common.exampleWeighting === 'equal',
    'exampleWeighting',
    common.exampleWeighting,
    () => "'equal' when 'noise' is set, because other weightings can exceed 1 and the clip norm"
  );
  assertOption(common.normOutlier === undefined, 'normOutlier', common.normOutlier, () => {
    return "absent when 'noise' is set, because its rejections depend on the update values";
  });
  return { noiseMultiplier };
}

function validateAsyncSgd(object: OptionObject): ResolvedAsyncSgdConfig {
  rejectUnknownKeys(object, [...COMMON_KEYS, 'lr'], '');
  const common = validateCommon(object);
  const lr = readNumber(object, 'lr', '', POSITIVE);
  return { kind: 'asyncsgd', ...common, lr };
}

function validateCommon(object: OptionObject): ResolvedCommonOptions {
  const staleness = validateStalenessConfig(object['staleness'], 'staleness');
  const maxStaleness = readNumber(object, 'maxStaleness', '', { min: 0, integer: true });
  const exampleWeighting = readChoice(object, 'exampleWeighting', '', EXAMPLE_WEIGHTINGS, 'equal');
  return {
    staleness,
    maxStaleness,
    exampleWeighting,
    clip: object['clip'] === undefined ? undefined : validateClip(object['clip'], 'clip'),
    rankShare:
      object['rankShare'] === undefined
        ? undefined
        : validateRankShare(object['rankShare'], 'rankShare'),
    normOutlier:
      object['normOutlier'] === undefined
        ? undefined
        : validateNormOutlier(object['normOutlier'], 'normOutlier'),
  };
}

function validateClip(value: unknown, path: string): ClipConfig {
  const object = readObject(value, path);
  rejectUnknownKeys(object, ['maxNorm'], path);
  return { maxNorm: readNumber(object, 'maxNorm', path, POSITIVE) };
}

function validateRankShare(value: unknown, path: string): ResolvedCommonOptions['rankShare'] {
  const object = readObject(value, path);
  rejectUnknownKeys(object, ['maxShare', 'window', 'worldSize'], path);
  const maxShare = readNumber(object, 'maxShare', path, { min: 0, minExclusive: true, max: 1 });
  let window: number;
  if (object['window'] !== undefined) {
    window = readNumber(object, 'window', path, { min: 2, integer: true });
  } else {
    assertOption(object['worldSize'] !== undefined, joinPath(path, 'window'), undefined, () => {
      return `set, or '${joinPath(path, 'worldSize')}' set so that it defaults to 4 * worldSize`;
    });
    const worldSize = readNumber(object, 'worldSize', path, { min: 1, integer: true });
    window = 4 * worldSize;
  }
  if (object['worldSize'] !== undefined) {
    readNumber(object, 'worldSize', path, { min: 1, integer: true });
  }
  return { maxShare, window };
}

function validateNormOutlier(value: unknown, path: string): ResolvedCommonOptions['normOutlier'] {
  const object = readObject(value, path);
  rejectUnknownKeys(object, ['maxRatio', 'window', 'minSamples'], path);
  const maxRatio = readNumber(object, 'maxRatio', path, { min: 1 });
  const window = readNumber(
    object,
    'window',
    path,
    { min: 1, integer: true },
    DEFAULT_NORM_OUTLIER_WINDOW
  );
  const minSamples = readNumber(
    object,
    'minSamples',
    path,
    { min: 1, max: window, integer: true },
    Math.min(DEFAULT_NORM_OUTLIER_MIN_SAMPLES, window)
  );
  return { maxRatio, window, minSamples };
}

function validateOptimizer(value: unknown, path: string): ResolvedOptimizerConfig {
  const object = readObject(value, path);
  const kind = readChoice(object, 'kind', path, OPTIMIZER_KINDS);
  switch (kind) {
    case 'sgd':
      rejectUnknownKeys(object, ['kind'], path);
      return { kind };
    case 'momentum': {
      rejectUnknownKeys(object, ['kind', 'momentum', 'nesterov'], path);
      const momentum = readNumber(object, 'momentum', path, UNIT_INTERVAL_OPEN, 0.9);
      const nesterov = readBoolean(object, 'nesterov', path, false);
      return { kind, momentum, nesterov };
    }
    case 'adam':
    case 'yogi':
    case 'adagrad': {
      const keys = ['kind', 'beta1', 'tau', 'initialAccumulator'];
      if (kind !== 'adagrad') keys.push('beta2');
      rejectUnknownKeys(object, keys, path);
      // NOTE: adagrad defaults to beta1 = 0, the classic Adagrad step. Algorithm 2 of Reddi et
      // al. also puts momentum on FedAdagrad, which `beta1` > 0 selects.
      const beta1 = readNumber(
        object,
        'beta1',
        path,
        UNIT_INTERVAL_OPEN,
        kind === 'adagrad' ? 0 : 0.9
      );
      const beta2 =
        kind === 'adagrad' ? 0 : readNumber(object, 'beta2', path, UNIT_INTERVAL_OPEN, 0.99);
      const tau = readNumber(object, 'tau', path, POSITIVE, 1e-3);
      const initialAccumulator = readNumber(
        object,
        'initialAccumulator',
        path,
        { min: 0 },
        tau * tau
      );
      return { kind, beta1, beta2, tau, initialAccumulator };
    }
  }
}

function validateAggregator(value: unknown, path: string): BufferAggregatorConfig {
  const object = readObject(value, path);
  const kind = readChoice(object, 'kind', path, BUFFER_AGGREGATORS);
  if (kind !== 'trimmedMean') {
    rejectUnknownKeys(object, ['kind'], path);
    return { kind };
  }
  rejectUnknownKeys(object, ['kind', 'beta'], path);
  // beta < 0.5 keeps 2 * floor(beta * K) < K, so at least one value per coordinate remains.
  const beta = readNumber(object, 'beta', path, { min: 0, max: 0.5, maxExclusive: true });
  return { kind, beta };
}
