import type { AggregatorConfig } from '@asyncfl/config';
import { RdpAccountant } from '@asyncfl/privacy';

/** User-level privacy spent by the aggregator's noisy flushes. */
export interface UserPrivacyStatus {
  readonly epsilon: number;
  readonly delta: number;
  /** Noisy flushes so far: the FedBuff version. */
  readonly releases: number;
  readonly noiseMultiplier: number;
  readonly clipNorm: number;
  /** 0 when no budget is set. */
  readonly epsilonBudget: number;
}

/** Example-level privacy that a DP-SGD worker reported with its newest update. */
export interface WorkerPrivacyStatus {
  readonly epsilon: number;
  readonly delta: number;
}

/**
 * Accountant of the aggregator's user-level DP. Every FedBuff flush adds Gaussian noise of
 * standard deviation sigma * C to a sum in which each rank has L2 norm at most C, which is a
 * Gaussian mechanism for adding or removing one rank's data. Buffers fill in arrival order,
 * not by random sampling, so each flush counts without amplification (sampling rate 1), as
 * if every rank took part in it.
 *
 * The FedBuff version counts flushes and is restored from the newest snapshot after a restart,
 * so the release count is the version and needs no state of its own. That assumes the noise
 * multiplier has not changed since version 0 of the job.
 */
export class UserPrivacyAccountant {
  private readonly accountant = new RdpAccountant();

  constructor(private readonly privacy: AggregatorConfig['privacy']) {}

  /** Returns the privacy spent after `version` flushes. */
  statusAt(version: number): UserPrivacyStatus {
    const spent = this.accountant.previewPrivacySpent(
      1,
      this.privacy.noiseMultiplier,
      version,
      this.privacy.delta
    );
    return {
      epsilon: spent.epsilon,
      delta: spent.delta,
      releases: version,
      noiseMultiplier: this.privacy.noiseMultiplier,
      clipNorm: this.privacy.clipNorm,
      epsilonBudget: this.privacy.epsilonBudget,
    };
  }

  /** Returns true when a budget is set and `version` flushes would exceed it. */
  exceedsBudgetAt(version: number): boolean {
    return (
      this.privacy.epsilonBudget > 0 && this.statusAt(version).epsilon > this.privacy.epsilonBudget
    );
  }
}
