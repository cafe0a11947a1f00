import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { EvaluationMetrics } from '@asyncfl/protocol';
import type { UserPrivacyStatus, WorkerPrivacyStatus } from './privacy';

/** The JSON report written at the end of a run. */
export interface RunReport {
  readonly job: string;
  readonly rule: string;
  readonly stopReason: string;
  readonly startedAt: string;
  readonly trainingSeconds: number;
  readonly versions: number;
  readonly final: { readonly loss: number; readonly top1: number; readonly top5: number } | null;
  readonly targetAccuracy: number;
  /** Seconds from the first consumed update to the first evaluation at or above the target. */
  readonly timeToTargetS: number | null;
  readonly updatesApplied: number;
  readonly updatesRejected: number;
  readonly rejectedByReason: Readonly<Record<string, number>>;
  readonly appliedByRank: Readonly<Record<string, number>>;
  readonly history: readonly EvaluationMetrics[];
  /** User-level privacy spent by the noisy flushes; null without user-level DP. */
  readonly privacy: UserPrivacyStatus | null;
  /** Example-level privacy of each DP-SGD rank, from its newest update seen in this run. */
  readonly workerPrivacy: Readonly<Record<string, WorkerPrivacyStatus>>;
}

/** Inputs of a report, gathered by the aggregator. */
export interface ReportInputs {
  readonly job: string;
  readonly rule: string;
  readonly stopReason: string;
  readonly startedAt: Date;
  readonly trainingSeconds: number;
  readonly version: number;
  readonly metrics: EvaluationMetrics | null;
  readonly history: readonly EvaluationMetrics[];
  readonly updatesApplied: number;
  readonly updatesRejected: number;
  readonly rejectedByReason: Readonly<Record<string, number>>;
  readonly appliedByRank: Readonly<Record<string, number>>;
  readonly timeToTargetS: number | null;
  readonly targetAccuracy: number;
  readonly privacy: UserPrivacyStatus | null;
  readonly workerPrivacy: Readonly<Record<string, WorkerPrivacyStatus>>;
}

/** Builds the run report. */
export function buildReport(inputs: ReportInputs): RunReport {
  return {
    job: inputs.job,
    rule: inputs.rule,
    stopReason: inputs.stopReason,
    startedAt: inputs.startedAt.toISOString(),
    trainingSeconds: inputs.trainingSeconds,
    versions: inputs.version,
    final: inputs.metrics
      ? { loss: inputs.metrics.loss, top1: inputs.metrics.top1, top5: inputs.metrics.top5 }
      : null,
    targetAccuracy: inputs.targetAccuracy,
    timeToTargetS: inputs.timeToTargetS,
    updatesApplied: inputs.updatesApplied,
    updatesRejected: inputs.updatesRejected,
    rejectedByReason: { ...inputs.rejectedByReason },
    appliedByRank: { ...inputs.appliedByRank },
    history: inputs.history,
    privacy: inputs.privacy,
    workerPrivacy: { ...inputs.workerPrivacy },
  };
}

/** Writes a report as indented JSON, creating its directory. */
export function writeReport(path: string, report: RunReport): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
}
