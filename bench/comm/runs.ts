// One training run of the benchmarks: the real aggregator and workers (FedAsync or FedBuff) or
// the synchronous FedAvg baseline, on a nats-server started for the run, with some workers slowed
// down and one leaving. Every run reports accuracy against seconds since its first update.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { LocalNatsServer, connectNats, provisionAssets } from '@asyncfl/transport';
import type { SyncReport } from '../sync-fedavg';
import { startTsx, stopAll, type RunningProcess } from './processes';

/** The workers of a run and how they misbehave. */
export interface Workload {
  readonly world: number;
  /** Ranks that sleep `stepDelayMs` after each local step. */
  readonly slowRanks: readonly number[];
  readonly stepDelayMs: number;
  /**
   * Sleep of every other rank after each local step, which stands for compute on a device of
   * its own; 0 when the workers only compute on this machine's CPUs.
   */
  readonly normalStepDelayMs: number;
  /** Rank that exits `leaveAfterS` seconds after its first local step; -1 for none. */
  readonly leaveRank: number;
  readonly leaveAfterS: number;
  /** Local SGD steps per update (per round in the baseline). */
  readonly localSteps: number;
  /** Model initialization and batch sampling seed. */
  readonly seed: number;
}

/** Held-out top-1 accuracy at a number of seconds after the run's first update. */
export interface CurvePoint {
  readonly s: number;
  readonly top1: number;
}

/** Result of one run. */
export interface RunResult {
  readonly system: string;
  readonly seed: number;
  /** Seconds from the first update to the first evaluation at or above the target; null if never. */
  readonly timeToTargetS: number | null;
  readonly curve: readonly CurvePoint[];
  /** Updates published by workers, and their mean size on the wire (message payload only). */
  readonly updatesPublished: number;
  readonly meanUpdateBytes: number;
  /** Versions (FedAsync, FedBuff) or rounds (baseline) made. */
  readonly steps: number;
  /** Seconds from starting the first process to the end of the run. */
  readonly wallS: number;
  /** Updates applied per rank (asynchronous runs). */
  readonly appliedByRank?: Readonly<Record<string, number>>;
  /** Mean answers per round and mean round seconds (baseline runs). */
  readonly meanAnswered?: number;
  readonly meanRoundS?: number;
}

/** Settings of an asynchronous run. */
export interface AsyncRunOptions {
  readonly rule: 'fedasync' | 'fedbuff';
  readonly workload: Workload;
  /** Stop at this top-1 accuracy; 0 runs until `stopAfterS`. */
  readonly target: number;
  /** Stop this many seconds after the first update at the latest. */
  readonly stopAfterS: number;
  readonly logDir: string;
  readonly aggregatorArgs?: readonly string[];
  readonly workerArgs?: readonly string[];
  /** Label of the run in results; the rule when omitted. */
  readonly label?: string;
}

/** Flags of one worker rank under a workload, shared by the services and the baseline. */
export function workerFlags(workload: Workload, rank: number): string[] {
  const flags = [
    '--rank',
    String(rank),
    '--count',
    '1',
    '--world',
    String(workload.world),
    '--model-seed',
    String(workload.seed),
    '--train-seed',
    String(workload.seed),
    '--local-steps',
    String(workload.localSteps),
  ];
  if (workload.slowRanks.includes(rank)) {
    flags.push('--step-delay-ms', String(workload.stepDelayMs));
  } else if (workload.normalStepDelayMs > 0) {
    flags.push('--step-delay-ms', String(workload.normalStepDelayMs));
  }
  if (rank === workload.leaveRank) flags.push('--leave-after-s', String(workload.leaveAfterS));
  return flags;
}

/** Counts the update messages of a job on the wire, from the bench's own subscription. */
class WireCounter {
  firstAt = 0;
  messages = 0;
  bytes = 0;

  constructor(nc: NatsConnection, subject: string) {
    nc.subscribe(subject, {
      callback: (_err, msg) => {
        if (this.firstAt === 0) this.firstAt = Date.now();
        this.messages += 1;
        this.bytes += msg.data.length;
      },
    });
  }

  async waitForFirst(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.firstAt === 0) {
      if (Date.now() > deadline) throw new Error(`no update arrived within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

interface AggregatorReport {
  readonly versions: number;
  readonly appliedByRank: Readonly<Record<string, number>>;
  readonly history: readonly { readonly top1: number; readonly elapsedS: number }[];
}

function mean(values: readonly number[]): number {
  return values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : 0;
}

function timeToTarget(curve: readonly CurvePoint[], target: number): number | null {
  if (target <= 0) return null;
  return curve.find((point) => point.top1 >= target)?.s ?? null;
}

/** Runs the aggregator and `world` workers as processes until the target or the time limit. */
export async function runAsync(options: AsyncRunOptions): Promise<RunResult> {
  const { workload, logDir } = options;
  const startedAt = Date.now();
  const server = await LocalNatsServer.start();
  const processes: RunningProcess[] = [];
  const job = `bench${workload.seed}`;
  const reportPath = join(logDir, 'report.json');
  let nc: NatsConnection | undefined;
  try {
    nc = await connectNats({ servers: [server.url], name: 'bench-observer' });
    const wire = new WireCounter(nc, `fl.${job}.update.>`);
    // Workers start first and wait for the aggregator's first manifest, so that they all begin
    // training at once, as in the baseline, whose first round waits for every worker's hello.
    await provisionAssets(nc);
    const workers: RunningProcess[] = [];
    for (let rank = 0; rank < workload.world; rank++) {
      const flags = workerFlags(workload, rank);
      workers.push(
        startTsx(
          `worker-${rank}`,
          'services/worker/src/main.ts',
          [
            '--nats',
            server.url,
            '--job',
            job,
            '--id',
            'bench',
            ...flags,
            ...(options.workerArgs ?? []),
          ],
          logDir
        )
      );
    }
    processes.push(...workers);
    await Promise.all(workers.map((worker) => worker.waitForLog('rank claimed')));
    const aggregator = startTsx(
      'aggregator',
      'services/aggregator/src/main.ts',
      [
        '--nats',
        server.url,
        '--job',
        job,
        '--rule',
        options.rule,
        '--target-accuracy',
        String(options.target),
        '--report',
        reportPath,
        '--http-port',
        '0',
        '--model-seed',
        String(workload.seed),
        '--eval-every',
        options.rule === 'fedbuff' ? '1' : '4',
        ...(options.aggregatorArgs ?? []),
      ],
      logDir
    );
    processes.push(aggregator);
    const consuming = await aggregator.waitForLog('consuming updates');
    const consumingAt = Number(consuming.time);
    await wire.waitForFirst(180_000);
    const stopTimer = setTimeout(
      () => aggregator.child.kill('SIGTERM'),
      wire.firstAt + options.stopAfterS * 1000 - Date.now()
    );
    const code = await aggregator.exited;
    clearTimeout(stopTimer);
    if (code !== 0 || !existsSync(reportPath)) {
      throw new Error(`the aggregator exited with code ${code}; see ${logDir}/aggregator.log`);
    }
    const report = JSON.parse(readFileSync(reportPath, 'utf8')) as AggregatorReport;
    const curve = report.history
      .map((h) => ({ s: (consumingAt + h.elapsedS * 1000 - wire.firstAt) / 1000, top1: h.top1 }))
      .filter((point) => point.s <= options.stopAfterS);
    // Workers exit on the final manifest; the grace period covers one update in progress.
    await Promise.race([
      Promise.all(processes.map((p) => p.exited)),
      new Promise((resolve) => setTimeout(resolve, 20_000)),
    ]);
    return {
      system: options.label ?? options.rule,
      seed: workload.seed,
      timeToTargetS: timeToTarget(curve, options.target),
      curve,
      updatesPublished: wire.messages,
      meanUpdateBytes: wire.messages > 0 ? wire.bytes / wire.messages : 0,
      steps: report.versions,
      wallS: (Date.now() - startedAt) / 1000,
      appliedByRank: report.appliedByRank,
    };
  } finally {
    await stopAll(processes);
    await nc?.close();
    await server.stop();
  }
}

/** Settings of a run of the synchronous baseline. */
export interface SyncRunOptions {
  readonly workload: Workload;
  readonly target: number;
  readonly stopAfterS: number;
  readonly logDir: string;
}

/** Runs the synchronous FedAvg coordinator and `world` workers as processes. */
export async function runSync(options: SyncRunOptions): Promise<RunResult> {
  const { workload, logDir } = options;
  const startedAt = Date.now();
  const server = await LocalNatsServer.start();
  const processes: RunningProcess[] = [];
  const job = `sync${workload.seed}`;
  const reportPath = join(logDir, 'report.json');
  let nc: NatsConnection | undefined;
  try {
    nc = await connectNats({ servers: [server.url], name: 'bench-observer' });
    const wire = new WireCounter(nc, `syncfl.${job}.update`);
    const coordinator = startTsx(
      'coordinator',
      'bench/sync-fedavg.ts',
      [
        'coordinator',
        '--nats',
        server.url,
        '--job',
        job,
        '--world',
        String(workload.world),
        '--target',
        String(options.target),
        '--budget-s',
        String(options.stopAfterS),
        '--model-seed',
        String(workload.seed),
        '--report',
        reportPath,
      ],
      logDir
    );
    processes.push(coordinator);
    for (let rank = 0; rank < workload.world; rank++) {
      processes.push(
        startTsx(
          `worker-${rank}`,
          'bench/sync-fedavg.ts',
          ['worker', '--nats', server.url, '--job', job, ...workerFlags(workload, rank)],
          logDir
        )
      );
    }
    const code = await coordinator.exited;
    if (code !== 0 || !existsSync(reportPath)) {
      throw new Error(`the coordinator exited with code ${code}; see ${logDir}/coordinator.log`);
    }
    const report = JSON.parse(readFileSync(reportPath, 'utf8')) as SyncReport;
    const curve = report.history.map((h) => ({ s: h.elapsedS, top1: h.top1 }));
    await Promise.race([
      Promise.all(processes.map((p) => p.exited)),
      new Promise((resolve) => setTimeout(resolve, 20_000)),
    ]);
    return {
      system: 'sync-fedavg',
      seed: workload.seed,
      timeToTargetS: report.timeToTargetS,
      curve,
      updatesPublished: wire.messages,
      meanUpdateBytes: wire.messages > 0 ? wire.bytes / wire.messages : 0,
      steps: report.rounds,
      wallS: (Date.now() - startedAt) / 1000,
      meanAnswered: mean(report.history.map((h) => h.answered)),
      meanRoundS: mean(report.history.map((h) => h.roundS)),
    };
  } finally {
    await stopAll(processes);
    await nc?.close();
    await server.stop();
  }
}
