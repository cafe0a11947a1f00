import type { PrivacyConfig } from '@asyncfl/config';
import { RdpAccountant, type PrivacySpent } from '@asyncfl/privacy';

/**
 * Example-level privacy accounting of one worker's DP-SGD steps. Each step is one release of
 * the sampled Gaussian mechanism: Poisson sampling at rate q = expected batch size / shard
 * size, and noise multiplier sigma. Every update the worker publishes is computed from such
 * steps alone, so its guarantee covers all published updates.
 *
 * NOTE: the spent privacy lives in this process only. A restarted worker starts again from
 * epsilon 0 on the same shard, so the reported epsilon then understates the total.
 */
export class WorkerPrivacy {
  readonly samplingRate: number;
  readonly noiseMultiplier: number;
  readonly delta: number;
  /** Largest epsilon allowed; Infinity when the configuration sets no budget. */
  readonly epsilonBudget: number;
  private readonly accountant = new RdpAccountant();

  constructor(config: PrivacyConfig, expectedBatchSize: number, shardSize: number) {
    this.samplingRate = Math.min(1, expectedBatchSize / shardSize);
    this.noiseMultiplier = config.noiseMultiplier;
    this.delta = config.delta;
    this.epsilonBudget = config.epsilonBudget > 0 ? config.epsilonBudget : Infinity;
  }

  /** Number of DP-SGD steps recorded so far. */
  get steps(): number {
    return this.accountant.releases;
  }

  /** Returns the (epsilon, delta) guarantee of the steps recorded so far. */
  spent(): PrivacySpent {
    return this.accountant.getPrivacySpent(this.delta);
  }

  /**
   * Returns how many of the next `requested` steps fit in the budget: the largest k <= requested
   * whose epsilon after k more steps is at most the budget. 0 means the next step would exceed it.
   */
  affordableSteps(requested: number): number {
    if (this.epsilonBudget === Infinity) return requested;
    let steps = requested;
    while (steps > 0 && this.preview(steps) > this.epsilonBudget) steps--;
    return steps;
  }

  /** Records `steps` DP-SGD steps. */
  record(steps: number): void {
    this.accountant.addSampledGaussian(this.samplingRate, this.noiseMultiplier, steps);
  }

  private preview(steps: number): number {
    return this.accountant.previewPrivacySpent(
      this.samplingRate,
      this.noiseMultiplier,
      steps,
      this.delta
    ).epsilon;
  }
}
