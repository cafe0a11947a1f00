// Synchronous FedAvg over NATS: the baseline that the asynchronous services are measured
// against. A coordinator sends the global weights to every worker each round, waits for their
// updates and averages them. A round closes when every live worker has answered, or when the
// missing ones are later than twice the median answer time of those that did, as deployed
// synchronous systems do with a round timeout. Late updates are discarded. The coordinator
// evaluates each round's average while the workers train on it, and stops at the target. With
// --target 0 it evaluates nothing until the end of the run, which stops after --budget-s seconds.
//
//   tsx bench/sync-fedavg.ts coordinator --nats URL --job J --world 8 --target 0.9 --report F
//       [--budget-s S] [--record-weights FILE]
//   tsx bench/sync-fedavg.ts worker --nats URL --job J --rank R --world 8 [worker flags]
//
// Workers take the real worker's flags (model, data, partition, training, including
// --step-delay-ms and --leave-after-s) and build the same model, shard and sampler.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import type * as tf from '@tensorflow/tfjs';
import { loadWorkerConfig, type WorkerConfig } from '@asyncfl/config';
import { BatchSampler, createPartitioner, createRng, loadDataSplit, subset } from '@asyncfl/data';
import {
  LocalTrainer,
  architectureHash,
  createModel,
  evaluate,
  getWeights,
  initBackend,
  modelSpec,
  setWeights,
  WeightsRecorder,
} from '@asyncfl/model';
import {
  decodeEnvelope,
  decodeSnapshot,
  encodeSnapshot,
  encodeUpdate,
  type NamedTensor,
  type TensorMap,
} from '@asyncfl/protocol';
import { connectNats } from '@asyncfl/transport';
import { partitionerOptions } from '../services/worker/src/worker';
import { trainLocalSteps, warmUpTraining } from '../services/worker/src/local-steps';
import { federatedAverage, roundClosesAt } from './sync-round';

/** One round and the evaluation of its average. */
export interface SyncRoundRecord {
  readonly round: number;
  /** Held-out top-1 accuracy and loss of the round's average, or null when it was not evaluated. */
  readonly top1: number | null;
  readonly loss: number | null;
  /** Seconds from the first update the coordinator received to the round's average. */
  readonly elapsedS: number;
  readonly answered: number;
  readonly dropped: number;
  readonly roundS: number;
}

/** The JSON report the coordinator writes. */
export interface SyncReport {
  readonly system: 'sync-fedavg';
  readonly stopReason: 'target_accuracy' | 'time_budget';
  readonly world: number;
  readonly targetAccuracy: number;
  /**
   * Seconds from the first update received to the average of the first round evaluated at or
   * above the target. Null when no round reached it, and always with --target 0.
   */
  readonly timeToTargetS: number | null;
  /** Epoch milliseconds at which the first update arrived. */
  readonly firstUpdateAt: number;
  readonly rounds: number;
  readonly lateAnswers: number;
  /** Update messages received, late ones included, and the sum of their payload bytes. */
  readonly updatesReceived: number;
  readonly updateBytes: number;
  readonly history: readonly SyncRoundRecord[];
}

const subjects = (job: string) => ({
  hello: `syncfl.${job}.hello`,
  round: `syncfl.${job}.round`,
  update: `syncfl.${job}.update`,
  bye: `syncfl.${job}.bye`,
  done: `syncfl.${job}.done`,
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Builds the model every process of the job starts from, with the job's model settings. */
function buildModel(config: WorkerConfig, inputShape: readonly number[]): tf.LayersModel {
  return createModel(config.model.name, {
    hidden: [...config.model.hidden],
    seed: config.model.seed,
    inputShape: [...inputShape],
  });
}

/** An update that reached the coordinator for the current round. */
interface Answer {
  readonly rank: number;
  readonly delta: TensorMap;
  readonly examples: number;
  readonly latencyMs: number;
}

async function runCoordinator(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      nats: { type: 'string' },
      job: { type: 'string' },
      world: { type: 'string' },
      target: { type: 'string', default: '0.9' },
      'budget-s': { type: 'string', default: '300' },
      'timeout-multiple': { type: 'string', default: '2' },
      'ready-timeout-s': { type: 'string', default: '180' },
      'model-seed': { type: 'string' },
      report: { type: 'string' },
      'record-weights': { type: 'string' },
    },
    strict: true,
  });
  if (!values.nats || !values.job || !values.world || !values.report) {
    throw new Error('coordinator: --nats, --job, --world and --report are required');
  }
  const world = Number(values.world);
  const target = Number(values.target);
  const budgetMs = Number(values['budget-s']) * 1000;
  const timeoutMultiple = Number(values['timeout-multiple']);
  const config = loadWorkerConfig({
    args: values['model-seed'] ? ['--model-seed', values['model-seed']] : [],
    env: {},
  });
  await initBackend(config.backend);
  const { test } = loadDataSplit(config.data);
  const model = buildModel(config, test.imageShape);
  const spec = modelSpec(model);
  const archHash = architectureHash(spec);
  const weights = getWeights(model);

  const nc = await connectNats({ servers: [values.nats], name: 'sync-coordinator' });
  const names = subjects(values.job);
  const ready = new Set<number>();
  const left = new Set<number>();
  const helloSub = nc.subscribe(names.hello, {
    callback: (_err, msg) => {
      ready.add(Number(msg.string()));
    },
  });
  const byeSub = nc.subscribe(names.bye, {
    callback: (_err, msg) => {
      left.add(Number(msg.string()));
    },
  });

  let round = 0;
  let roundStartedAt = 0;
  let answers = new Map<number, Answer>();
  let firstUpdateAt = 0;
  let lateAnswers = 0;
  let updatesReceived = 0;
  let updateBytes = 0;
  let wake: (() => void) | undefined;
  const updateSub: Subscription = nc.subscribe(names.update, {
    callback: (_err, msg) => {
      updatesReceived += 1;
      updateBytes += msg.data.length;
      const envelope = decodeEnvelope(msg.data);
      if (envelope.kind !== 'update') return;
      const update = envelope.update;
      if (firstUpdateAt === 0) firstUpdateAt = Date.now();
      if (update.baseVersion !== round) {
        lateAnswers += 1;
        return;
      }
      answers.set(update.rank, {
        rank: update.rank,
        delta: new Map(update.tensors.map((t) => [t.name, t.values])),
        examples: update.numExamples,
        latencyMs: Date.now() - roundStartedAt,
      });
      wake?.();
    },
  });

  const readyDeadline = Date.now() + Number(values['ready-timeout-s']) * 1000;
  while (ready.size < world) {
    if (Date.now() > readyDeadline) {
      throw new Error(
        `timed out waiting for workers: ${ready.size} of ${world} sent hello; see their logs`
      );
    }
    await sleep(100);
  }
  helloSub.unsubscribe();

  // Version r of the record is the average of round r, which round r + 1 sends to the workers.
  const recorder =
    values['record-weights'] !== undefined
      ? new WeightsRecorder(values['record-weights'], spec)
      : undefined;
  const history: SyncRoundRecord[] = [];
  let timeToTargetS: number | null = null;
  let stopReason: SyncReport['stopReason'] = 'time_budget';
  // Evaluates the model, which contains the last round's average, into that round's record.
  const evaluateLastRound = (): number => {
    const result = evaluate(model, test.images, test.labels, { batchSize: 500 });
    history[history.length - 1] = { ...history.at(-1)!, top1: result.top1, loss: result.loss };
    return result.top1;
  };
  for (round = 1; ; round++) {
    answers = new Map();
    roundStartedAt = Date.now();
    const snapshot = encodeSnapshot({
      job: values.job,
      version: round,
      architectureHash: archHash,
      weights: spec.map((t) => ({ name: t.name, shape: t.shape, values: weights.get(t.name)! })),
      stateTensors: [],
      stateScalars: {},
    });
    nc.publish(names.round, snapshot);
    // nats.js sends a publish once the event loop runs again, so flush before the synchronous
    // evaluation below, which would otherwise hold the round back.
    await nc.flush();
    if (round === 1) recorder?.append(0, roundStartedAt, weights);
    // The previous round's average is evaluated while the workers train on it.
    if (target > 0 && history.length > 0 && evaluateLastRound() >= target) {
      timeToTargetS = history.at(-1)!.elapsedS;
      stopReason = 'target_accuracy';
      break;
    }
    // Wait for every live worker, or until the missing ones are past the round timeout.
    for (;;) {
      const latencies = [...answers.values()].map((a) => a.latencyMs);
      const closesAt = roundClosesAt(roundStartedAt, latencies, world - left.size, timeoutMultiple);
      const wait = Math.min(closesAt - Date.now(), 1000);
      if (wait <= 0) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, wait);
      });
    }
    const roundAnswers = [...answers.values()];
    answers = new Map();
    federatedAverage(weights, spec, roundAnswers);
    setWeights(model, weights);
    const averagedAt = Date.now();
    recorder?.append(round, averagedAt, weights);
    history.push({
      round,
      top1: null,
      loss: null,
      elapsedS: (averagedAt - firstUpdateAt) / 1000,
      answered: roundAnswers.length,
      dropped: world - left.size - roundAnswers.length,
      roundS: (averagedAt - roundStartedAt) / 1000,
    });
    if (averagedAt - firstUpdateAt >= budgetMs) break;
  }
  // The last round's average, evaluated after the run for the report.
  if (history.at(-1)?.top1 === null) evaluateLastRound();
  recorder?.close();
  nc.publish(names.done, new Uint8Array(0));
  await nc.flush();
  updateSub.unsubscribe();
  byeSub.unsubscribe();
  await nc.close();

  const report: SyncReport = {
    system: 'sync-fedavg',
    stopReason,
    world,
    targetAccuracy: target,
    timeToTargetS,
    firstUpdateAt,
    rounds: history.length,
    lateAnswers,
    updatesReceived,
    updateBytes,
    history,
  };
  writeFileSync(values.report, `${JSON.stringify(report, null, 2)}\n`);
  return 0;
}

async function runWorker(args: string[]): Promise<number> {
  const config = loadWorkerConfig({ args, env: {} });
  const rank = config.rank;
  await initBackend(config.backend);
  const { train } = loadDataSplit(config.data);
  const model = buildModel(config, train.imageShape);
  const spec = modelSpec(model);
  const archHash = architectureHash(spec);
  const trainer = new LocalTrainer(model, {
    learningRate: config.training.learningRate,
    batchSize: config.training.batchSize,
  });
  const shards = createPartitioner(config.partition, partitionerOptions(config)).partition(
    train.labels,
    config.world,
    config.data.seed
  );
  const shard = shards[rank]!;
  const sampler = new BatchSampler(
    subset(train, shard),
    Uint32Array.from({ length: shard.length }, (_, index) => index),
    config.training.batchSize,
    createRng(config.training.seed + rank)
  );
  // As the real worker does; every round sets the round's weights before training.
  warmUpTraining(
    trainer,
    train.imageShape.reduce((a, b) => a * b, 1),
    config.training.batchSize
  );

  const nc: NatsConnection = await connectNats({
    servers: [...config.nats.servers],
    name: `sync-worker-${rank}`,
  });
  const names = subjects(config.job);
  let latest: { round: number; weights: readonly NamedTensor[] } | undefined;
  let done = false;
  let wake: (() => void) | undefined;
  nc.subscribe(names.round, {
    callback: (_err, msg) => {
      const snapshot = decodeSnapshot(msg.data);
      if (!latest || snapshot.version > latest.round) {
        latest = { round: snapshot.version, weights: snapshot.weights };
      }
      wake?.();
    },
  });
  nc.subscribe(names.done, {
    callback: () => {
      done = true;
      wake?.();
    },
  });

  let trainedRound = 0;
  let leaveAt: number | undefined;
  let seq = 0;
  while (!done) {
    if (!latest || latest.round <= trainedRound) {
      // Repeat the hello until the first round arrives, in case the coordinator was not ready.
      if (!latest) nc.publish(names.hello, String(rank));
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 500);
      });
      continue;
    }
    const leaveAfterS = config.training.leaveAfterS;
    if (leaveAfterS > 0) {
      leaveAt ??= Date.now() + leaveAfterS * 1000;
      if (Date.now() >= leaveAt) {
        nc.publish(names.bye, String(rank));
        break;
      }
    }
    const { round, weights } = latest;
    const base = new Map(weights.map((t) => [t.name, t.values]));
    setWeights(model, base);
    const result = await trainLocalSteps(
      trainer,
      () => sampler.nextBatch(),
      config.training.localSteps,
      config.training.stepDelayMs
    );
    const local = getWeights(model);
    const tensors = spec.map((t) => {
      const before = base.get(t.name)!;
      const after = local.get(t.name)!;
      const delta = new Float32Array(after.length);
      for (let i = 0; i < delta.length; i++) delta[i] = before[i]! - after[i]!;
      return { name: t.name, shape: t.shape, values: t.trainable ? delta : after };
    });
    seq += 1;
    nc.publish(
      names.update,
      encodeUpdate({
        job: config.job,
        rank,
        workerId: `sync-${rank}`,
        incarnation: 'sync',
        seq,
        baseVersion: round,
        numExamples: result.examples,
        localSteps: config.training.localSteps,
        localLr: config.training.learningRate,
        trainLoss: result.meanLoss,
        architectureHash: archHash,
        tensors,
      })
    );
    trainedRound = round;
  }
  await nc.flush();
  await nc.close();
  return 0;
}

const [role, ...rest] = process.argv.slice(2);
if (role === 'coordinator') process.exitCode = await runCoordinator(rest);
else if (role === 'worker') process.exitCode = await runWorker(rest);
else {
  console.error('usage: sync-fedavg.ts coordinator|worker [flags]');
  process.exitCode = 2;
}
