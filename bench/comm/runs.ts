// One training run of the benchmarks: the real aggregator and workers (FedAsync or FedBuff) or
// the synchronous FedAvg baseline, on a nats-server started for the run, with some workers slowed
// down and one leaving. Every run reports accuracy against seconds since its first update.
//
// Accuracy is measured after the run: the aggregator and the baseline's coordinator write every
// version of the model with the time it was made (`--record-weights`), and each version is
// evaluated on the held-out digits once the run is over. Evaluations during the run would take
// CPU from the workers on the shared cores, and a version evaluated only every few versions would
// be seen late.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { loadWorkerConfig } from '@asyncfl/config';
import { loadDataSplit } from '@asyncfl/data';
import {
  createModel,
  evaluate,
  initBackend,
  modelSpec,
  readWeightsRecord,
  setWeights,
} from '@asyncfl/model';
import { jobUpdateFilter } from '@asyncfl/protocol';
import { LocalNatsServer, UPDATE_STREAM, connectNats, provisionAssets } from '@asyncfl/transport';
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

/**
 * Evaluates every version in a weights record on the held-out digits and returns top-1 accuracy
 * against seconds since `startMs`, for versions made from `startMs` to `startMs + untilS`.
 *
 * @throws Error when the record is cut short, does not end at `lastVersion`, or contains tensors
 *   other than the workload's model.
 */
export async function evaluateRecord(
  path: string,
  workload: Workload,
  startMs: number,
  untilS: number,
  lastVersion: number
): Promise<CurvePoint[]> {
  const config = loadWorkerConfig({ args: workerFlags(workload, 0), env: {} });
  await initBackend(config.backend);
  const { test } = loadDataSplit(config.data);
  const record = readWeightsRecord(path);
  const recordedLast = record.versions.at(-1)?.version;
  if (record.truncatedBytes > 0 || recordedLast !== lastVersion) {
    throw new Error(
      `the weights record ${path} ends at version ${recordedLast ?? 'none'} with ${record.truncatedBytes} bytes cut short, but the run ended at version ${lastVersion}. See the run's logs.`
    );
  }
  const model = createModel(config.model.name, {
    hidden: [...config.model.hidden],
    seed: config.model.seed,
    inputShape: test.imageShape,
  });
  const curve: CurvePoint[] = [];
  try {
    const describeTensors = (tensors: readonly { name: string; shape: readonly number[] }[]) =>
      JSON.stringify(tensors.map((t) => [t.name, [...t.shape]]));
    const expected = describeTensors(modelSpec(model));
    if (describeTensors(record.tensors) !== expected) {
      throw new Error(
        `the weights record ${path} contains tensors ${describeTensors(record.tensors)}, not those of the workload's model ${expected}`
      );
    }
    for (const { timeMs, weights } of record.versions) {
      // The initial model may be recorded before the first update, and it counts as time 0.
      const s = Math.max(0, (timeMs - startMs) / 1000);
      if (s > untilS) break;
      setWeights(model, weights);
      curve.push({ s, top1: evaluate(model, test.images, test.labels, { batchSize: 500 }).top1 });
    }
  } finally {
    model.dispose();
  }
  return curve;
}

/** Result of one run. */
export interface RunResult {
  readonly system: string;
  readonly seed: number;
  /** Seconds from the first update to the first version at or above the target, or null. */
  readonly timeToTargetS: number | null;
  readonly curve: readonly CurvePoint[];
  /**
   * Update messages of the run and their mean payload size. Asynchronous runs count what the
   * stream stored, including updates sent after the time limit and excluding retries that the
   * stream dropped as duplicates. The baseline counts what its coordinator received.
   */
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
  /** Top-1 accuracy whose time is reported, or 0 to report none. */
  readonly target: number;
  /** Seconds after the first update at which the run stops. */
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

/**
 * Time at which the first update of a job appears on the wire, from the bench's own
 * subscription. It ends after that message, so that the bench does not receive a copy of every
 * update while the run shares the CPUs.
 */
class FirstUpdate {
  firstAt = 0;

  constructor(nc: NatsConnection, subject: string) {
    nc.subscribe(subject, {
      max: 1,
      callback: () => {
        this.firstAt = Date.now();
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

/** Counts the update messages of a job in the update stream and sums their payload bytes. */
async function countStreamUpdates(
  nc: NatsConnection,
  job: string
): Promise<{ messages: number; bytes: number }> {
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(UPDATE_STREAM, { subjects_filter: jobUpdateFilter(job) });
  const total = Object.values(info.state.subjects ?? {}).reduce((sum, n) => sum + n, 0);
  let messages = 0;
  let bytes = 0;
  if (total === 0) return { messages, bytes };
  const consumer = await js.consumers.get(UPDATE_STREAM, { filter_subjects: jobUpdateFilter(job) });
  while (messages < total) {
    const msg = await consumer.next({ expires: 5_000 });
    if (msg === null) {
      throw new Error(
        `timed out after reading ${messages} of the ${total} update messages of job '${job}'`
      );
    }
    messages += 1;
    bytes += msg.data.length;
  }
  return { messages, bytes };
}

interface AggregatorReport {
  readonly versions: number;
  readonly appliedByRank: Readonly<Record<string, number>>;
}

function mean(values: readonly number[]): number {
  return values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : 0;
}

function timeToTarget(curve: readonly CurvePoint[], target: number): number | null {
  if (target <= 0) return null;
  return curve.find((point) => point.top1 >= target)?.s ?? null;
}

/** Runs the aggregator and `world` workers as processes until the time limit. */
export async function runAsync(options: AsyncRunOptions): Promise<RunResult> {
  const { workload, logDir } = options;
  const startedAt = Date.now();
  const server = await LocalNatsServer.start();
  const processes: RunningProcess[] = [];
  const job = `bench${workload.seed}`;
  const reportPath = join(logDir, 'report.json');
  const recordPath = join(logDir, 'versions.bin');
  let nc: NatsConnection | undefined;
  try {
    nc = await connectNats({ servers: [server.url], name: 'bench-observer' });
    const wire = new FirstUpdate(nc, jobUpdateFilter(job));
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
    // The run ends at the time limit, because nothing evaluates the model while it trains.
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
        '--report',
        reportPath,
        '--http-port',
        '0',
        '--model-seed',
        String(workload.seed),
        '--eval-every',
        '0',
        '--record-weights',
        recordPath,
        ...(options.aggregatorArgs ?? []),
      ],
      logDir
    );
    processes.push(aggregator);
    await aggregator.waitForLog('consuming updates');
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
    // Workers exit on the final manifest; the grace period covers one update in progress.
    await Promise.race([
      Promise.all(processes.map((p) => p.exited)),
      new Promise((resolve) => setTimeout(resolve, 20_000)),
    ]);
    const curve = await evaluateRecord(
      recordPath,
      workload,
      wire.firstAt,
      options.stopAfterS,
      report.versions
    );
    const sent = await countStreamUpdates(nc, job);
    return {
      system: options.label ?? options.rule,
      seed: workload.seed,
      timeToTargetS: timeToTarget(curve, options.target),
      curve,
      updatesPublished: sent.messages,
      meanUpdateBytes: sent.messages > 0 ? sent.bytes / sent.messages : 0,
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
  /** Top-1 accuracy whose time is reported. */
  readonly target: number;
  /** Seconds after the first update at which the run stops. */
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
  const recordPath = join(logDir, 'versions.bin');
  let nc: NatsConnection | undefined;
  try {
    nc = await connectNats({ servers: [server.url], name: 'bench-observer' });
    const wire = new FirstUpdate(nc, `syncfl.${job}.update`);
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
        // Nothing evaluates during the run, as in the asynchronous runs, so it runs to its limit.
        '--target',
        '0',
        '--budget-s',
        String(options.stopAfterS),
        '--model-seed',
        String(workload.seed),
        '--report',
        reportPath,
        '--record-weights',
        recordPath,
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
    await Promise.race([
      Promise.all(processes.map((p) => p.exited)),
      new Promise((resolve) => setTimeout(resolve, 20_000)),
    ]);
    if (wire.firstAt === 0) throw new Error(`no update of job '${job}' was seen on the wire`);
    const curve = await evaluateRecord(
      recordPath,
      workload,
      wire.firstAt,
      options.stopAfterS,
      report.rounds
    );
    return {
      system: 'sync-fedavg',
      seed: workload.seed,
      timeToTargetS: timeToTarget(curve, options.target),
      curve,
      updatesPublished: report.updatesReceived,
      meanUpdateBytes: report.updatesReceived > 0 ? report.updateBytes / report.updatesReceived : 0,
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
