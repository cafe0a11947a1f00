import { hostname } from 'node:os';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { KvWatchEntry } from '@nats-io/kv';
import type { Logger } from 'pino';
import type * as tf from '@tensorflow/tfjs';
import { checkExampleDelta, type WorkerConfig } from '@asyncfl/config';
import {
  BatchSampler,
  PoissonSampler,
  createPartitioner,
  createRng,
  loadDataSplit,
  subset,
  type PartitionerOptions,
} from '@asyncfl/data';
import {
  DpSgdTrainer,
  LocalTrainer,
  architectureHash,
  checkTrainable,
  createModel,
  getWeights,
  initBackend,
  modelSpec,
  setWeights,
} from '@asyncfl/model';
import {
  decodeManifest,
  decodeSnapshot,
  prepareUpdate,
  formatUpdateId,
  latestManifestKey,
  newIncarnation,
  updateSubject,
  UpdateCompressor,
  type Manifest,
  type ModelSpec,
  type TensorMap,
  type UpdateTensor,
} from '@asyncfl/protocol';
import {
  StreamFullError,
  claimRank,
  PermissionDeniedError,
  ProvisionError,
  connectNats,
  getSnapshot,
  openAssets,
  permissionDenied,
  publishUpdate,
  redactServerUrls,
  securedConnectionOptions,
  workerIdentity,
  type RankLease,
  type WorkerAssets,
} from '@asyncfl/transport';
import { trainLocalSteps, warmUpTraining } from './local-steps';
import { WorkerPrivacy } from './privacy';

/** Returns the options of the configured partitioner, which rejects options it does not define. */
export function partitionerOptions(config: WorkerConfig): PartitionerOptions {
  switch (config.partition) {
    case 'dirichlet':
      return { concentration: config.partitionOptions.concentration };
    case 'shards':
      return { classesPerWorker: config.partitionOptions.classesPerWorker };
    case 'iid':
      return {};
  }
}

/**
 * Why a worker's loop ended: the job is final, it was stopped, `training.leaveAfterS` passed,
 * or the next DP-SGD step would exceed `privacy.epsilonBudget`.
 */
export type WorkerExit = 'final' | 'signal' | 'left' | 'budget';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One rank: trains on its shard from the newest snapshot and publishes each update, until
 * the manifest is marked `final` or it is stopped.
 */
export class Worker {
  private nc!: NatsConnection;
  private js!: JetStreamClient;
  private assets!: WorkerAssets;
  private lease: RankLease | undefined;
  private model!: tf.LayersModel;
  private spec!: ModelSpec;
  private archHash = '';
  private trainer!: LocalTrainer | DpSgdTrainer;
  private sampler!: BatchSampler | PoissonSampler;
  /** Accounting of DP-SGD steps; undefined without `privacy.enabled`. */
  private privacy: WorkerPrivacy | undefined;
  private readonly incarnation = newIncarnation();
  private readonly workerId: string;

  private latest: Manifest | undefined;
  private manifestArrived: (() => void) | undefined;
  private loadedVersion = -1;
  private base: TensorMap = new Map();
  private seq = 0;
  /** Stream sequence of this worker's newest update; 0 once the aggregator consumed it. */
  private lastPublishedSeq = 0;
  private stopping = false;
  /** Encodes updates as configured and keeps this worker's error-feedback residuals. */
  private readonly compressor: UpdateCompressor;
  /** When `training.leaveAfterS` makes this worker exit, in epoch milliseconds. */
  private leaveAt: number | undefined;

  constructor(
    private readonly config: WorkerConfig,
    readonly rank: number,
    private readonly log: Logger
  ) {
    this.workerId = `${config.id}-${rank}`;
    this.identity = workerIdentity(rank).name;
    this.compressor = new UpdateCompressor(config.compression);
  }

  /** Name of this worker's NATS credentials, used in permission errors. */
  private readonly identity: string;

  /** Loads model and shard, connects, claims the rank and starts watching the manifest. */
  async start(): Promise<void> {
    try {
      await this.startUp();
    } catch (err) {
      throw permissionDenied(err, this.identity) ?? err;
    }
  }

  private async startUp(): Promise<void> {
    const { config, log } = this;
    const backend = await initBackend(config.backend);
    log.info({ backend: backend.name, reason: backend.reason }, 'tfjs backend selected');

    const { train } = loadDataSplit(config.data);
    this.model = createModel(config.model.name, {
      hidden: [...config.model.hidden],
      seed: config.model.seed,
      inputShape: train.imageShape,
    });
    this.spec = modelSpec(this.model);
    this.archHash = architectureHash(this.spec);
    this.trainer = config.privacy.enabled
      ? new DpSgdTrainer(this.model, {
          learningRate: config.training.learningRate,
          expectedBatchSize: config.training.batchSize,
          clipNorm: config.privacy.clipNorm,
          noiseMultiplier: config.privacy.noiseMultiplier,
        })
      : new LocalTrainer(this.model, {
          learningRate: config.training.learningRate,
          batchSize: config.training.batchSize,
        });
    // Fails with KernelUnavailableError, naming the backend and kernel, before anything connects.
    checkTrainable(this.model);
    const shards = createPartitioner(config.partition, partitionerOptions(config)).partition(
      train.labels,
      config.world,
      config.data.seed
    );
    const shard = shards[this.rank]!;
    // A copy of the shard alone, so that the whole training set can be garbage-collected. Its
    // examples keep their order, so the batches are the same as when sampling `train` by `shard`.
    const shardData = subset(train, shard);
    const shardIndices = Uint32Array.from({ length: shard.length }, (_, index) => index);
    const rng = createRng(config.training.seed + this.rank);
    if (config.privacy.enabled) {
      // Throws ConfigError for a delta of 1/shard size or more, before anything connects.
      checkExampleDelta(config.privacy, shard.length);
      this.sampler = new PoissonSampler(shardData, shardIndices, config.training.batchSize, rng);
      this.privacy = new WorkerPrivacy(config.privacy, config.training.batchSize, shard.length);
      log.info(
        {
          samplingRate: this.privacy.samplingRate,
          clipNorm: config.privacy.clipNorm,
          noiseMultiplier: config.privacy.noiseMultiplier,
          delta: config.privacy.delta,
          epsilonBudget: config.privacy.epsilonBudget,
          perExample: (this.trainer as DpSgdTrainer).method,
        },
        'DP-SGD on: Poisson-sampled batches, per-example clipping, Gaussian noise'
      );
    } else {
      this.sampler = new BatchSampler(shardData, shardIndices, config.training.batchSize, rng);
    }
    log.info(
      { shardSize: shard.length, world: config.world, partition: config.partition },
      'data shard ready'
    );
    const inputSize = train.imageShape.reduce((a, b) => a * b, 1);
    const warmUpMs = warmUpTraining(this.trainer, inputSize, config.training.batchSize);
    log.info({ ms: Math.round(warmUpMs) }, 'training warmed up on a batch of zeros');
    const { stepDelayMs, leaveAfterS } = config.training;
    log.info(
      { compression: config.compression, stepDelayMs, leaveAfterS },
      'update compression and simulation settings'
    );

    const security = securedConnectionOptions(config.nats, config.job, this.identity, this.rank);
    this.nc = await connectNats({
      servers: config.nats.servers,
      name: this.workerId,
      connectTimeoutMs: config.nats.connectTimeoutMs,
      ...security,
    });
    log.info(
      {
        servers: redactServerUrls(config.nats.servers),
        identity: this.identity,
        auth: security.credentials?.kind ?? 'none',
        tls: security.tls !== undefined || this.nc.info?.tls_required === true,
      },
      'connected to NATS'
    );
    void this.watchStatus();
    this.js = jetstream(this.nc);
    this.assets = await this.openAssetsWhenProvisioned();
    this.lease = await claimRank(
      this.assets.workerKv,
      config.job,
      this.rank,
      {
        workerId: this.workerId,
        incarnation: this.incarnation,
        host: hostname(),
        pid: process.pid,
      },
      {
        heartbeatMs: config.claim.heartbeatMs,
        expireMs: config.claim.expireMs,
        onHeartbeatError: (err) => log.warn({ err }, 'rank heartbeat failed; retrying'),
      }
    );
    log.info({ incarnation: this.incarnation }, 'rank claimed');
    void this.watchManifest();
  }

  /** Opens the buckets and object store, waiting while the aggregator has not created them. */
  private async openAssetsWhenProvisioned(): Promise<WorkerAssets> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await openAssets(this.nc);
      } catch (err) {
        const denied = permissionDenied(err, this.identity);
        if (denied || !(err instanceof ProvisionError) || this.stopping) throw denied ?? err;
        if (attempt === 1 || attempt % 30 === 0) {
          this.log.warn({ err, attempt }, 'JetStream assets not ready; waiting for the aggregator');
        }
        await sleep(1000);
      }
    }
  }

  private async watchStatus(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnect') {
        this.log.warn({ status: status.type }, 'NATS connection status changed');
      } else if (status.type === 'error') {
        const denied = permissionDenied(status.error, this.identity);
        this.log.error({ err: denied ?? status.error }, 'NATS reported an error');
      }
    }
  }

  private async watchManifest(): Promise<void> {
    const key = latestManifestKey(this.config.job);
    const watch = await this.assets.modelKv.watch({ key });
    for await (const entry of watch as AsyncIterable<KvWatchEntry>) {
      if (entry.operation !== 'PUT' || entry.value.length === 0) continue;
      try {
        const manifest = decodeManifest(entry.value);
        if (!this.latest || manifest.version >= this.latest.version) this.latest = manifest;
        this.manifestArrived?.();
      } catch (err) {
        this.log.error({ err, revision: entry.revision }, 'ignored an invalid manifest');
      }
      if (this.stopping) break;
    }
  }

  private async waitForManifest(): Promise<Manifest | undefined> {
    while (!this.latest && !this.stopping) {
      await new Promise<void>((resolve) => {
        this.manifestArrived = resolve;
        setTimeout(resolve, 1000);
      });
    }
    return this.latest;
  }

  private async waitUntilConsumed(seq: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const consumed = () => (this.latest?.progress.consumedSeq ?? 0) >= seq || this.latest?.final;
    while (!this.stopping && !consumed()) {
      const left = deadline - Date.now();
      if (left <= 0) {
        this.log.debug(
          { seq, waitedMs: timeoutMs },
          'previous update not consumed yet; training anyway'
        );
        this.lastPublishedSeq = 0;
        return;
      }
      await new Promise<void>((resolve) => {
        this.manifestArrived = resolve;
        setTimeout(resolve, Math.min(left, 250));
      });
    }
  }

  private async loadSnapshot(manifest: Manifest): Promise<void> {
    if (manifest.architectureHash !== this.archHash) {
      throw new Error(
        `manifest version ${manifest.version} has architecture ${manifest.architectureHash.slice(0, 12)}…, but this worker's model has ${this.archHash.slice(0, 12)}…; start the worker with the aggregator's model settings`
      );
    }
    const snapshot = decodeSnapshot(await getSnapshot(this.assets.snapshots, manifest));
    if (snapshot.architectureHash !== this.archHash) {
      throw new Error(
        `snapshot '${manifest.object}' has architecture ${snapshot.architectureHash.slice(0, 12)}…, not ${this.archHash.slice(0, 12)}…`
      );
    }
    this.base = new Map(snapshot.weights.map((t) => [t.name, t.values]));
    this.loadedVersion = snapshot.version;
    this.log.debug({ version: snapshot.version }, 'loaded a snapshot');
  }

  /** Trains and publishes until the job is final or `stop` is called. */
  async run(): Promise<WorkerExit> {
    let published = 0;
    while (!this.stopping) {
      const manifest = await this.waitForManifest();
      if (!manifest || this.stopping) break;
      if (manifest.final) {
        this.log.info({ version: manifest.version, published }, 'job is final; worker exiting');
        return 'final';
      }
      if (this.lastPublishedSeq > (manifest.progress.consumedSeq ?? 0)) {
        // One update in flight per worker: a worker that outpaced the aggregator would
        // otherwise fill the stream with updates that arrive ever staler.
        await this.waitUntilConsumed(this.lastPublishedSeq, this.config.training.pendingWaitMs);
        continue;
      }
      if (manifest.version !== this.loadedVersion) {
        try {
          await this.loadSnapshot(manifest);
        } catch (err) {
          this.log.warn(
            { err, version: manifest.version },
            'could not load the snapshot; waiting for the next one'
          );
          await sleep(500);
          continue;
        }
      }
      if (this.leaveTimeReached()) {
        this.log.info(
          { leaveAfterS: this.config.training.leaveAfterS, published },
          'leaving as configured by training.leaveAfterS'
        );
        return 'left';
      }
      const requestedSteps = this.config.training.localSteps;
      const steps = this.privacy?.affordableSteps(requestedSteps) ?? requestedSteps;
      if (steps === 0) {
        this.log.info(
          { ...this.privacyFields(), published },
          'next DP-SGD step would exceed the epsilon budget; worker exiting'
        );
        return 'budget';
      }
      setWeights(this.model, this.base);
      const result = await trainLocalSteps(
        this.trainer,
        () => this.sampler.nextBatch(),
        steps,
        this.config.training.stepDelayMs
      );
      this.privacy?.record(steps);
      // Under DP, the loss and the sampled example count are not privatized, so the update
      // carries no loss and the expected example count instead.
      await this.publish(
        this.deltaFrom(getWeights(this.model)),
        this.privacy ? Number.NaN : result.meanLoss,
        this.privacy ? Math.round(steps * this.config.training.batchSize) : result.examples,
        steps
      );
      published += 1;
      if (this.privacy) this.log.debug(this.privacyFields(), 'privacy spent');
      if (published % 50 === 0) {
        this.log.info(
          {
            published,
            baseVersion: this.loadedVersion,
            loss: result.meanLoss,
            ...this.privacyFields(),
          },
          'training progress'
        );
      }
      // Give the event loop a turn, so watch entries and heartbeats are handled between steps.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return 'signal';
  }

  /** Returns the spent (epsilon, delta) and the DP-SGD step count for logs; {} without DP. */
  private privacyFields(): Record<string, number> {
    if (this.privacy === undefined) return {};
    const spent = this.privacy.spent();
    return {
      epsilon: spent.epsilon,
      delta: spent.delta,
      rdpOrder: spent.order,
      dpSteps: this.privacy.steps,
      epsilonBudget: this.config.privacy.epsilonBudget,
    };
  }

  /** Returns true once `training.leaveAfterS` has passed since the first local step. */
  private leaveTimeReached(): boolean {
    const { leaveAfterS } = this.config.training;
    if (leaveAfterS <= 0) return false;
    this.leaveAt ??= Date.now() + leaveAfterS * 1000;
    return Date.now() >= this.leaveAt;
  }

  private deltaFrom(local: TensorMap): UpdateTensor[] {
    return this.spec.map((t) => {
      const after = local.get(t.name)!;
      if (!t.trainable) return { name: t.name, shape: t.shape, values: after, isDelta: false };
      const before = this.base.get(t.name)!;
      const delta = new Float32Array(after.length);
      for (let i = 0; i < delta.length; i++) delta[i] = before[i]! - after[i]!;
      return { name: t.name, shape: t.shape, values: delta, isDelta: true };
    });
  }

  private async publish(
    tensors: UpdateTensor[],
    loss: number,
    examples: number,
    localSteps: number
  ): Promise<void> {
    this.seq += 1;
    const { job } = this.config;
    const id = formatUpdateId({
      job,
      rank: this.rank,
      incarnation: this.incarnation,
      seq: this.seq,
    });
    const compressed = this.compressor.compress(tensors);
    const prepared = prepareUpdate(
      {
        job,
        rank: this.rank,
        workerId: this.workerId,
        incarnation: this.incarnation,
        seq: this.seq,
        baseVersion: this.loadedVersion,
        numExamples: examples,
        localSteps,
        localLr: this.config.training.learningRate,
        trainLoss: loss,
        architectureHash: this.archHash,
        tensors: compressed.tensors,
        ...(this.privacy === undefined ? {} : { privacy: this.privacy.spent() }),
      },
      compressed.optionsOf
    );
    for (let attempt = 1; !this.stopping || attempt === 1; attempt++) {
      try {
        const ack = await publishUpdate(this.js, updateSubject(job, this.rank), id, prepared, {
          maxPayload: this.nc.info?.max_payload ?? 1024 * 1024,
          identity: this.identity,
          onRetry: (event) =>
            this.log.warn(
              { err: event.error, updateId: id, attempt: event.attempt, waitMs: event.waitMs },
              'publish not acknowledged; retrying with the same id'
            ),
        });
        this.lastPublishedSeq = Math.max(...ack.streamSeqs);
        this.log.trace(
          { updateId: id, streamSeqs: ack.streamSeqs, bytes: prepared.byteLength },
          'update published'
        );
        return;
      } catch (err) {
        // Credentials that do not allow this rank's subject never will: stop the worker.
        if (err instanceof PermissionDeniedError) throw err;
        const waitMs = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
        const message =
          err instanceof StreamFullError
            ? 'update stream is full; backing off'
            : 'publish failed; backing off';
        this.log.error({ err, updateId: id, waitMs }, message);
        await sleep(waitMs);
      }
    }
  }

  /** Asks the loop to stop after the current step. */
  stop(): void {
    this.stopping = true;
    this.manifestArrived?.();
  }

  /** Releases the rank and closes the connection. */
  async close(): Promise<void> {
    await this.lease?.release();
    if (this.nc && !this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
  }
}
