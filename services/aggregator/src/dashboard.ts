import type { EvaluationMetrics } from '@asyncfl/protocol';
import type { AggregatorMetrics, StalenessBar } from './metrics';
import type { AggregatorPhase, AggregatorStatus, EvaluationPoint } from './status';

/** Most evaluation points sent to the dashboard; longer histories are thinned evenly. */
export const MAX_DASHBOARD_POINTS = 1000;

/** Activity of one rank as the dashboard shows it. */
export interface DashboardRank {
  readonly rank: number;
  /** Updates of this rank applied since the job started, restored counts included. */
  readonly applied: number;
  /** Time of the rank's last message as an ISO string; null when none arrived in this process. */
  readonly lastSeenAt: string | null;
}

/** The JSON document the dashboard page polls. */
export interface DashboardData {
  readonly job: string;
  readonly rule: string;
  readonly phase: AggregatorPhase;
  readonly version: number;
  readonly snapshotVersion: number;
  readonly updatesApplied: number;
  readonly updatesRejected: number;
  /** Rejection counts by reason, zero counts left out. */
  readonly rejectedByReason: Readonly<Record<string, number>>;
  readonly evaluation: EvaluationMetrics | null;
  readonly evaluations: readonly EvaluationPoint[];
  /** Staleness of the updates applied since this aggregator process started. */
  readonly staleness: {
    readonly bars: readonly StalenessBar[];
    readonly count: number;
    readonly sum: number;
  };
  readonly ranks: readonly DashboardRank[];
  readonly serverTime: string;
}

/** Keeps at most `max` points, evenly spaced, always including the first and the last. */
export function thinPoints<T>(points: readonly T[], max: number): T[] {
  if (points.length <= max) return [...points];
  if (max < 2) return points.slice(-max);
  const step = (points.length - 1) / (max - 1);
  const kept: T[] = [];
  for (let i = 0; i < max; i++) kept.push(points[Math.round(i * step)]!);
  return kept;
}

/** Builds the dashboard's document from the aggregator's status and the metrics. */
export function dashboardData(
  status: AggregatorStatus,
  metrics: AggregatorMetrics,
  now = Date.now()
): DashboardData {
  const activity = new Map(metrics.rankActivity().map((a) => [a.rank, a]));
  const rankNumbers = new Set([
    ...Object.keys(status.appliedByRank).map(Number),
    ...activity.keys(),
  ]);
  const ranks = [...rankNumbers]
    .filter((rank) => Number.isSafeInteger(rank))
    .sort((a, b) => a - b)
    .map((rank) => {
      const lastSeenAt = activity.get(rank)?.lastSeenAt ?? null;
      return {
        rank,
        applied: status.appliedByRank[String(rank)] ?? 0,
        lastSeenAt: lastSeenAt === null ? null : new Date(lastSeenAt).toISOString(),
      };
    });
  const rejectedByReason = Object.fromEntries(
    Object.entries(status.rejectedByReason).filter(([, count]) => count > 0)
  );
  return {
    job: status.job,
    rule: status.rule,
    phase: status.phase,
    version: status.version,
    snapshotVersion: status.snapshotVersion,
    updatesApplied: status.updatesApplied,
    updatesRejected: status.updatesRejected,
    rejectedByReason,
    evaluation: status.metrics,
    evaluations: thinPoints(status.evaluations, MAX_DASHBOARD_POINTS),
    staleness: metrics.stalenessBars(),
    ranks,
    serverTime: new Date(now).toISOString(),
  };
}
