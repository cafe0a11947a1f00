import { ConfigError } from './errors';
import type { AggregatorConfig, PrivacyConfig } from './types';

/** Adds the problems of the workers' example-level DP settings to `problems`. */
export function checkWorkerPrivacy(problems: string[], privacy: PrivacyConfig): void {
  if (!privacy.enabled) return;
  if (!(privacy.noiseMultiplier > 0)) {
    problems.push(
      `'privacy.noiseMultiplier' (--dp-noise-multiplier) must be > 0 with --dp (got ${privacy.noiseMultiplier}): clipping without noise gives no privacy`
    );
  }
  if (!(privacy.delta > 0 && privacy.delta < 1)) {
    problems.push(
      `'privacy.delta' (--dp-delta) must be in (0, 1) with --dp (got ${privacy.delta})`
    );
  }
}

/** Adds the problems of the aggregator's user-level DP settings to `problems`. */
export function checkUserPrivacy(problems: string[], config: AggregatorConfig): void {
  const { privacy, rule } = config;
  if (!privacy.enabled) return;
  if (rule.kind !== 'fedbuff') {
    problems.push(
      `--user-dp needs 'rule.kind' (--rule) fedbuff, which adds noise once per buffer (got ${rule.kind})`
    );
  }
  if (rule.exampleWeighting !== 'equal') {
    problems.push(
      `--user-dp needs 'rule.exampleWeighting' (--example-weighting) equal (got ${rule.exampleWeighting}): other weightings can scale one update above the clip norm`
    );
  }
  if (!(privacy.noiseMultiplier > 0)) {
    problems.push(
      `'privacy.noiseMultiplier' (--user-dp-noise-multiplier) must be > 0 with --user-dp (got ${privacy.noiseMultiplier}): clipping without noise gives no privacy`
    );
  }
  if (privacy.users < 1) {
    problems.push(
      "'privacy.users' (--user-dp-users) is required with --user-dp: set it to the number of worker ranks, the workers' --world"
    );
  } else if (!(privacy.delta > 0 && privacy.delta < 1 / privacy.users)) {
    problems.push(
      `'privacy.delta' (--user-dp-delta) must be in (0, 1/${privacy.users}) for ${privacy.users} users (got ${privacy.delta})`
    );
  }
}

/**
 * Checks that the example-level delta is below 1 / `shardSize`, the examples in one rank's
 * shard. A delta of 1/n or more allows a mechanism that publishes one of n records outright.
 * The workers call this once their shard is known, before they connect.
 *
 * @throws ConfigError naming the delta, the shard size and the largest valid delta.
 */
export function checkExampleDelta(privacy: PrivacyConfig, shardSize: number): void {
  if (!privacy.enabled || privacy.delta < 1 / shardSize) return;
  throw new ConfigError([
    `'privacy.delta' (--dp-delta) ${privacy.delta} must be below 1/${shardSize}, one over the examples in this rank's shard; choose a delta below ${1 / shardSize}`,
  ]);
}
