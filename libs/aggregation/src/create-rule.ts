import type { ModelSpec, TensorMap } from '@asyncfl/protocol';
import type { GaussianNoise } from '@asyncfl/privacy';
import { AsyncSgdRule } from './asyncsgd';
import { validateRuleConfig, type RuleConfig } from './config';
import { FedAsyncRule } from './fedasync';
import { FedBuffRule } from './fedbuff';
import type { AggregationRule } from './types';

/** Dependencies of a rule that are not configuration. */
export interface RuleDependencies {
  /**
   * Noise source of FedBuff's `noise` option. Defaults to the operating system's secure random
   * number generator; tests pass a seeded source.
   */
  readonly noise?: GaussianNoise;
}

/**
 * Validates `config` and builds the rule it names, starting from a copy of `initial` at
 * `startVersion`. Throws InvalidOptionError for a bad config and InvalidModelError when
 * `initial` does not match `spec`.
 */
export function createRule(
  config: RuleConfig,
  spec: ModelSpec,
  initial: TensorMap,
  startVersion = 0,
  dependencies: RuleDependencies = {}
): AggregationRule {
  const resolved = validateRuleConfig(config);
  switch (resolved.kind) {
    case 'fedasync':
      return new FedAsyncRule(resolved, spec, initial, startVersion);
    case 'fedbuff':
      return new FedBuffRule(resolved, spec, initial, startVersion, dependencies.noise);
    case 'asyncsgd':
      return new AsyncSgdRule(resolved, spec, initial, startVersion);
  }
}
