import type { NatsConnection } from '@nats-io/nats-core';
import type { EvaluationMetrics } from '@asyncfl/protocol';
import type { JetStreamAssets } from '@asyncfl/transport';
import type { StopReason } from './aggregator';
import type { UserPrivacyStatus, WorkerPrivacyStatus } from './privacy';

/**
 * Lifecycle of an aggregator: `starting` until the consumer runs, `running` while updates
 * are applied, `draining` after the final snapshot while late updates are still recorded,
 * then `stopped`, or `failed` after an error that ends the run.
 */
export type AggregatorPhase = 'starting' | 'running' | 'draining' | 'stopped' | 'failed';

/** One evaluation of the global model, with the training time at which it ran. */
export interface EvaluationPoint extends EvaluationMetrics {
  /** Seconds of training before the evaluation. */
  readonly elapsedS: number;
}

/** Read-only view of an aggregator's progress, for metrics, health checks and the dashboard. */
export interface AggregatorStatus {
  readonly job: string;
  readonly phase: AggregatorPhase;
  /** Description of the aggregation rule; empty until the rule is created. */
  readonly rule: string;
  readonly version: number;
  /** Version of the newest stored snapshot; -1 before the first one. */
  readonly snapshotVersion: number;
  readonly updatesApplied: number;
  readonly updatesRejected: number;
  readonly rejectedByReason: Readonly<Record<string, number>>;
  readonly appliedByRank: Readonly<Record<string, number>>;
  /** Newest evaluation, possibly restored from the snapshot the run started from. */
  readonly metrics: EvaluationMetrics | null;
  /** Evaluations made by this process, oldest first. */
  readonly evaluations: readonly EvaluationPoint[];
  readonly stopReason: StopReason | null;
  /** Time of the last periodic task, in ms since the epoch; it stalls when the work queue does. */
  readonly lastTickAt: number;
  /** User-level privacy spent so far; null without `privacy.enabled`. */
  readonly privacy: UserPrivacyStatus | null;
  /**
   * Example-level privacy of each DP-SGD rank by rank, from its newest update admitted by this
   * process; empty when no worker trains with DP.
   */
  readonly workerPrivacy: Readonly<Record<string, WorkerPrivacyStatus>>;
}

/** The NATS handles that health checks probe; absent until the aggregator has connected. */
export interface NatsResources {
  readonly nc: NatsConnection;
  readonly assets: JetStreamAssets;
  /** Durable consumer name; empty until the consumer exists. */
  readonly durable: string;
}

/** Hooks the aggregator calls where it handles messages; the metrics implement them. */
export interface AggregatorObserver {
  /** Called for every message the consumer delivers, redeliveries included. */
  messageReceived(subject: string, bytes: number): void;
  /** Called once per update that reached the model, with its staleness in versions. */
  updateApplied(rank: number, staleness: number): void;
  /** Called once per update or malformed message recorded as rejected. */
  updateRejected(reason: string): void;
  /** Called with the time the aggregation rule took to take in one update, in seconds. */
  ruleSubmitted(seconds: number): void;
}
