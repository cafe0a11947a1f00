import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type PrometheusContentType,
} from 'prom-client';
import { rankFromSubject } from '@asyncfl/protocol';
import { ALL_REJECT_REASONS } from './reasons';
import type { AggregatorObserver, AggregatorStatus } from './status';

/** Upper bounds of the staleness histogram's buckets, in versions. */
export const STALENESS_BUCKETS: readonly number[] = [
  0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256,
];

/** Upper bounds of the apply-latency histogram's buckets, in seconds. */
export const APPLY_SECONDS_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

/** One bar of the staleness histogram: updates with `previous bound < d <= le`. */
export interface StalenessBar {
  /** Upper bound in versions, or `+Inf` for the last bar. */
  readonly le: string;
  readonly count: number;
}

/** Applied updates and the last message of one rank. */
export interface RankActivity {
  readonly rank: number;
  /** Updates applied in this process, not counting those restored from a snapshot. */
  readonly applied: number;
  /** Time of the rank's last message, in ms since the epoch; null when none arrived yet. */
  readonly lastSeenAt: number | null;
}

export interface MetricsOptions {
  readonly job: string;
  /** Also export Node.js process metrics (CPU, memory, event-loop lag); default true. */
  readonly processMetrics?: boolean;
}

/**
 * Prometheus metrics of one aggregator. Counters and histograms are fed by the aggregator's
 * observer hooks and count from this process's start; gauges read `AggregatorStatus` at
 * each scrape.
 */
export class AggregatorMetrics implements AggregatorObserver {
  readonly registry = new Registry<PrometheusContentType>();
  private statusSource: (() => AggregatorStatus) | undefined;
  private readonly job: string;

  private readonly applied: Counter<string>;
  private readonly rejected: Counter<'reason'>;
  private readonly rankApplied: Counter<'rank'>;
  private readonly receivedBytes: Counter<string>;
  private readonly receivedMessages: Counter<string>;
  private readonly staleness: Histogram<string>;
  private readonly applySeconds: Histogram<string>;

  private readonly stalenessCounts: number[] = new Array<number>(STALENESS_BUCKETS.length + 1).fill(
    0
  );
  private stalenessSum = 0;
  private readonly rankAppliedCounts = new Map<number, number>();
  private readonly lastSeenByRank = new Map<number, number>();

  constructor(options: MetricsOptions) {
    this.job = options.job;
    const registers = [this.registry];
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });

    this.applied = new Counter({
      name: 'asyncfl_updates_applied_total',
      help: 'Updates applied to the global model',
      registers,
    });
    this.rejected = new Counter({
      name: 'asyncfl_updates_rejected_total',
      help: 'Updates and malformed messages rejected, by reason',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of ALL_REJECT_REASONS) this.rejected.inc({ reason }, 0);
    this.rankApplied = new Counter({
      name: 'asyncfl_rank_updates_applied_total',
      help: 'Updates applied to the global model, by worker rank',
      labelNames: ['rank'],
      registers,
    });
    this.receivedBytes = new Counter({
      name: 'asyncfl_received_bytes_total',
      help: 'Payload bytes of the messages delivered by the update consumer, redeliveries included',
      registers,
    });
    this.receivedMessages = new Counter({
      name: 'asyncfl_received_messages_total',
      help: 'Messages delivered by the update consumer, redeliveries and chunks included',
      registers,
    });
    this.staleness = new Histogram({
      name: 'asyncfl_update_staleness_versions',
      help: 'Staleness of applied updates: versions made since the model the worker started from',
      buckets: [...STALENESS_BUCKETS],
      registers,
    });
    this.applySeconds = new Histogram({
      name: 'asyncfl_update_apply_seconds',
      help: 'Time the aggregation rule took to take in one update, buffer flushes included',
      buckets: [...APPLY_SECONDS_BUCKETS],
      registers,
    });
    this.registerStatusGauges(registers);
  }

  /** Sets where the gauges read the aggregator's state from. */
  bind(source: () => AggregatorStatus): void {
    this.statusSource = source;
  }

  messageReceived(subject: string, bytes: number): void {
    this.receivedMessages.inc();
    this.receivedBytes.inc(bytes);
    const rank = rankFromSubject(subject, this.job);
    if (rank !== undefined) this.lastSeenByRank.set(rank, Date.now());
  }

  updateApplied(rank: number, staleness: number): void {
    this.applied.inc();
    this.rankApplied.inc({ rank: String(rank) });
    this.rankAppliedCounts.set(rank, (this.rankAppliedCounts.get(rank) ?? 0) + 1);
    this.staleness.observe(staleness);
    this.stalenessSum += staleness;
    // Prometheus buckets are cumulative; the dashboard's bars count each range once.
    const index = STALENESS_BUCKETS.findIndex((le) => staleness <= le);
    const bar = index === -1 ? STALENESS_BUCKETS.length : index;
    this.stalenessCounts[bar] = (this.stalenessCounts[bar] ?? 0) + 1;
  }

  updateRejected(reason: string): void {
    this.rejected.inc({ reason });
  }

  ruleSubmitted(seconds: number): void {
    this.applySeconds.observe(seconds);
  }

  /** Returns the staleness histogram as non-cumulative bars, in bucket order. */
  stalenessBars(): { bars: StalenessBar[]; count: number; sum: number } {
    const bars = this.stalenessCounts.map((count, i) => ({
      le: i < STALENESS_BUCKETS.length ? String(STALENESS_BUCKETS[i]) : '+Inf',
      count,
    }));
    const count = this.stalenessCounts.reduce((a, b) => a + b, 0);
    return { bars, count, sum: this.stalenessSum };
  }

  /** Returns each rank seen in this process with its applied updates and last message time. */
  rankActivity(): RankActivity[] {
    const ranks = new Set([...this.rankAppliedCounts.keys(), ...this.lastSeenByRank.keys()]);
    return [...ranks]
      .sort((a, b) => a - b)
      .map((rank) => ({
        rank,
        applied: this.rankAppliedCounts.get(rank) ?? 0,
        lastSeenAt: this.lastSeenByRank.get(rank) ?? null,
      }));
  }

  /** Returns the metrics in the Prometheus text format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private registerStatusGauges(registers: Registry[]): void {
    const read = () => this.statusSource?.();
    new Gauge({
      name: 'asyncfl_info',
      help: 'Constant 1, labelled with the job name and the aggregation rule',
      labelNames: ['fl_job', 'rule'],
      registers,
      collect() {
        this.reset();
        const status = read();
        if (status) this.set({ fl_job: status.job, rule: status.rule }, 1);
      },
    });
    new Gauge({
      name: 'asyncfl_model_version',
      help: 'Current version of the global model: steps applied since the job started',
      registers,
      collect() {
        this.set(read()?.version ?? 0);
      },
    });
    new Gauge({
      name: 'asyncfl_snapshot_version',
      help: 'Version of the newest stored snapshot, the one workers train from; -1 before the first',
      registers,
      collect() {
        this.set(read()?.snapshotVersion ?? -1);
      },
    });
    new Gauge({
      name: 'asyncfl_ready',
      help: '1 while the aggregator consumes updates, 0 while it starts, drains or has stopped',
      registers,
      collect() {
        this.set(read()?.phase === 'running' ? 1 : 0);
      },
    });
    const evaluation = (name: string, help: string, pick: (s: AggregatorStatus) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const status = read();
          // NaN, not 0, until the first evaluation: 0 would read as a measured value.
          this.set(status?.metrics ? pick(status) : Number.NaN);
        },
      });
    evaluation(
      'asyncfl_evaluation_top1_accuracy',
      'Held-out top-1 accuracy of the global model at its last evaluation, in [0, 1]',
      (s) => s.metrics!.top1
    );
    evaluation(
      'asyncfl_evaluation_top5_accuracy',
      'Held-out top-5 accuracy of the global model at its last evaluation, in [0, 1]',
      (s) => s.metrics!.top5
    );
    evaluation(
      'asyncfl_evaluation_loss',
      'Held-out cross-entropy loss of the global model at its last evaluation',
      (s) => s.metrics!.loss
    );
    new Gauge({
      name: 'asyncfl_privacy_epsilon',
      help: 'User-level epsilon spent by the noisy FedBuff flushes at asyncfl_privacy_delta; NaN without user-level DP',
      registers,
      collect() {
        this.set(read()?.privacy?.epsilon ?? Number.NaN);
      },
    });
    new Gauge({
      name: 'asyncfl_worker_privacy_epsilon',
      help: "Example-level epsilon that a DP-SGD rank reported with its newest update, at that rank's delta",
      labelNames: ['rank'],
      registers,
      collect() {
        this.reset();
        for (const [rank, spent] of Object.entries(read()?.workerPrivacy ?? {})) {
          this.set({ rank }, spent.epsilon);
        }
      },
    });
    new Gauge({
      name: 'asyncfl_privacy_delta',
      help: 'User-level delta of asyncfl_privacy_epsilon; NaN without user-level DP',
      registers,
      collect() {
        this.set(read()?.privacy?.delta ?? Number.NaN);
      },
    });
    evaluation(
      'asyncfl_evaluation_version',
      'Model version of the last evaluation',
      (s) => s.metrics!.version
    );
  }
}
