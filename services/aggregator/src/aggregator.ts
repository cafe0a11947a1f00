import { jetstream, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Logger } from 'pino';
import type * as tf from '@tensorflow/tfjs';
import {
  createRule,
  type AggregationRule,
  type RuleConfig,
  type StalenessConfig,
} from '@asyncfl/aggregation';
import type { AggregatorConfig } from '@asyncfl/config';
import { loadDataSplit, type Dataset } from '@asyncfl/data';
import {
  architectureHash,
  createModel,
  evaluate,
  exportTfjsModel,
  getWeights,
  initBackend,
  modelSpec,
  setWeights,
  WeightsRecorder,
} from '@asyncfl/model';
import {
  ChunkError,
  ProtocolError,
  Reassembler,
  SCHEMA_VERSION,
  decodeEnvelope,
  decodeSnapshot,
  encodeSnapshot,
  formatUpdateId,
  newIncarnation,
  rankFromSubject,
  snapshotObjectName,
  type EvaluationMetrics,
  type Manifest,
  type ModelSpec,
  type RejectedUpdate,
  type TensorMap,
  type UpdateMessage,
} from '@asyncfl/protocol';
import { hostname } from 'node:os';
import {
  ManifestConflictError,
  UPDATE_STREAM,
  aggregatorDurableName,
  AGGREGATOR_IDENTITY,
  connectNats,
  ensureAggregatorConsumer,
  pullBatchSize,
  getSnapshot,
  permissionDenied,
  provisionAssets,
  redactServerUrls,
  securedConnectionOptions,
  putSnapshot,
  readLatestManifest,
  sha256Hex,
  writeManifest,
  type JetStreamAssets,
} from '@asyncfl/transport';
import { MessageLedger } from './ledger';
import { ALL_REJECT_REASONS } from './reasons';
import { UserPrivacyAccountant, type WorkerPrivacyStatus } from './privacy';
import { buildReport, writeReport, type RunReport } from './report';
import type {
  AggregatorObserver,
  AggregatorPhase,
  AggregatorStatus,
  EvaluationPoint,
  NatsResources,
} from './status';

/** Translates the service configuration into the aggregation library's rule configuration. */
export function ruleConfigOf(config: AggregatorConfig): RuleConfig {
  const r = config.rule;
  const staleness: StalenessConfig =
    r.staleness === 'polynomial'
      ? { kind: 'polynomial', a: r.stalenessA }
      : r.staleness === 'hinge'
        ? { kind: 'hinge', a: r.stalenessA, b: r.stalenessB }
        : { kind: r.staleness };
  const common = { staleness, maxStaleness: r.maxStaleness, exampleWeighting: r.exampleWeighting };
  if (r.kind === 'fedbuff') {
    const { privacy } = config;
    return {
      kind: 'fedbuff',
      ...common,
      bufferSize: r.bufferSize,
      serverLr: r.serverLr,
      optimizer: { kind: r.optimizer },
      // User-level DP: clip every update to C and add noise of std sigma * C to each buffer sum.
      ...(privacy.enabled
        ? {
            clip: { maxNorm: privacy.clipNorm },
            noise: { noiseMultiplier: privacy.noiseMultiplier },
          }
        : {}),
    };
  }
  return { kind: 'fedasync', ...common, alpha: r.alpha, form: 'delta' };
}

/** Reason the aggregator stopped training. */
export type StopReason =
  'target_accuracy' | 'max_versions' | 'time_budget' | 'privacy_budget' | 'signal';

/** Minimum time after the final manifest during which late updates are still recorded, in ms. */
const FINAL_DRAIN_MS = 3_000;
/** The drain ends once no message has arrived for this long, in ms. */
const DRAIN_QUIET_MS = 1_500;
/** The drain ends after this long whatever arrives, in ms. */
const MAX_DRAIN_MS = 30_000;

/**
 * Consumes a job's updates, applies them through the configured rule, and publishes
 * snapshots. One instance runs per job; a second one loses the manifest race and stops.
 */
export class Aggregator {
  private nc!: NatsConnection;
  private assets!: JetStreamAssets;
  private model!: tf.LayersModel;
  private spec!: ModelSpec;
  private archHash = '';
  private rule!: AggregationRule;
  private testSet!: Dataset;
  private ledger = new MessageLedger();
  private readonly reassembler: Reassembler<number>;
  private messages: ConsumerMessages | undefined;
  /** Messages per pull request, from consumer.pullMaxBytes and the server's max_payload. */
  private pullMessages = 1;

  private manifestRevision = 0;
  private snapshotVersion = -1;
  private snapshotObject = '';
  private snapshotSha = '';
  private lastSnapshotAt = Date.now();
  private readonly retained: string[] = [];
  private metrics: EvaluationMetrics | null = null;
  /**
   * Writer of `evaluation.recordWeights`, or undefined when the option is empty or a write
   * failed.
   */
  private recorder: WeightsRecorder | undefined;
  private lastEvaluatedVersion = -1;

  private readonly startedAt = new Date();
  private trainingStartedAt = Date.now();
  private appliedTotal = 0;
  private rejectedTotal = 0;
  private readonly rejectedByReason: Record<string, number> = {};
  private readonly appliedByRank: Record<string, number> = {};
  private stalenessSum = 0;
  private stalenessCount = 0;
  private appliedSinceSnapshot = 0;
  private readonly seenIds = new Set<string>();
  private readonly history: EvaluationMetrics[] = [];
  private timeToTarget: number | null = null;
  /** Accountant of user-level DP; undefined without `privacy.enabled`. */
  private readonly privacy: UserPrivacyAccountant | undefined;
  /** Example-level (epsilon, delta) of each DP-SGD rank, from its newest admitted update. */
  private readonly workerPrivacy: Record<string, WorkerPrivacyStatus> = {};

  private stopReason: StopReason | null = null;
  private finalWrittenAt = 0;
  private lastMessageAt = 0;
  private consumedSeq = 0;
  /** Identifies this process's manifests, so a write whose reply was lost can be recognized. */
  private readonly writerId = `${hostname()}-${process.pid}-${newIncarnation()}`;
  private manifestConsumedSeq = 0;
  private finalWritten = false;
  private serial: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  private phase: AggregatorPhase = 'starting';
  private lastTickAt = Date.now();
  private durable = '';

  constructor(
    private readonly config: AggregatorConfig,
    private readonly log: Logger,
    private readonly observer?: AggregatorObserver
  ) {
    this.reassembler = new Reassembler<number>({ maxUpdateBytes: 512 << 20, maxOpenSets: 4096 });
    this.privacy = config.privacy.enabled ? new UserPrivacyAccountant(config.privacy) : undefined;
    for (const reason of ALL_REJECT_REASONS) this.rejectedByReason[reason] = 0;
  }

  /** Loads the model and data, connects, provisions, and restores the newest snapshot. */
  async start(): Promise<void> {
    const { config, log } = this;
    const backend = await initBackend(config.backend);
    log.info({ backend: backend.name, reason: backend.reason }, 'tfjs backend selected');

    this.testSet = loadDataSplit(config.data).test;
    this.model = createModel(config.model.name, {
      hidden: [...config.model.hidden],
      seed: config.model.seed,
      inputShape: this.testSet.imageShape,
    });
    this.spec = modelSpec(this.model);
    this.archHash = architectureHash(this.spec);
    // Opened before connecting, so that a path that cannot be written stops the service early.
    if (config.evaluation.recordWeights !== '') {
      this.recorder = new WeightsRecorder(config.evaluation.recordWeights, this.spec);
      log.info({ path: config.evaluation.recordWeights }, 'recording every version of the model');
    }
    log.info(
      { model: config.model.name, tensors: this.spec.length, testExamples: this.testSet.count },
      'model and held-out set ready'
    );

    const identity = AGGREGATOR_IDENTITY.name;
    const security = securedConnectionOptions(config.nats, config.job, identity);
    this.nc = await connectNats({
      servers: config.nats.servers,
      name: `aggregator-${config.job}`,
      connectTimeoutMs: config.nats.connectTimeoutMs,
      ...security,
    });
    log.info(
      {
        servers: redactServerUrls(config.nats.servers),
        identity,
        auth: security.credentials?.kind ?? 'none',
        tls: security.tls !== undefined || this.nc.info?.tls_required === true,
      },
      'connected to NATS'
    );
    void this.watchStatus();
    // Fails before anything is consumed when the pull size leaves no room for one message.
    try {
      this.pullMessages = pullBatchSize(
        config.consumer.pullMaxBytes,
        this.nc.info?.max_payload ?? 0
      );
    } catch (err) {
      throw new Error(
        `'consumer.pullMaxBytes' (--pull-max-bytes) is too small for this server: ${(err as Error).message}`
      );
    }

    this.assets = await provisionAssets(this.nc, {
      replicas: config.nats.replicas,
      updateMaxAgeMs: 24 * 3600 * 1000,
      updateMaxBytes: 4 * 1024 ** 3,
      duplicateWindowMs: 120_000,
      manifestHistory: 16,
    }).catch((err: unknown) => {
      throw permissionDenied(err, identity) ?? err;
    });
    await this.restoreOrInitialize();
    if (this.privacy?.exceedsBudgetAt(this.rule.version + 1)) {
      // run() finalizes the job before it consumes any update.
      this.stopReason = 'privacy_budget';
      log.info(this.privacyLogFields(), 'the next flush would exceed the epsilon budget');
    }
  }

  private async watchStatus(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnect' || status.type === 'error') {
        const err =
          status.type === 'error'
            ? (permissionDenied(status.error, AGGREGATOR_IDENTITY.name) ?? status.error)
            : undefined;
        this.log.warn(
          { status: status.type, server: 'server' in status ? status.server : undefined, err },
          'NATS connection status changed'
        );
      }
    }
  }

  private async restoreOrInitialize(): Promise<void> {
    const latest = await readLatestManifest(this.assets.modelKv, this.config.job);
    const ruleConfig = ruleConfigOf(this.config);
    if (latest === null) {
      this.rule = createRule(ruleConfig, this.spec, getWeights(this.model), 0);
      this.log.info(
        { rule: this.rule.describe() },
        'no snapshot found; starting from the initial model'
      );
      await this.writeSnapshot(false);
      return;
    }
    const { manifest, revision } = latest;
    if (manifest.final) {
      throw new Error(
        `job '${this.config.job}' already finished at version ${manifest.version}; start a new job with --job NAME`
      );
    }
    if (manifest.architectureHash !== this.archHash) {
      throw new Error(
        `the stored snapshot of job '${this.config.job}' has architecture ${manifest.architectureHash.slice(0, 12)}…, but the configured model has ${this.archHash.slice(0, 12)}…; use the same model settings or a new job name`
      );
    }
    const snapshot = decodeSnapshot(await getSnapshot(this.assets.snapshots, manifest));
    const weights: TensorMap = new Map(snapshot.weights.map((t) => [t.name, t.values]));
    this.rule = createRule(ruleConfig, this.spec, weights, snapshot.version);
    this.rule.importState({
      version: snapshot.version,
      tensors: new Map(snapshot.stateTensors.map((t) => [t.name, t.values])),
      scalars: { ...snapshot.stateScalars },
    });
    this.manifestRevision = revision;
    this.snapshotVersion = manifest.version;
    this.snapshotObject = manifest.object;
    this.snapshotSha = manifest.sha256;
    this.retained.push(...(await this.storedSnapshotNames(manifest)));
    this.metrics = manifest.metrics;
    this.ledger = new MessageLedger(manifest.covers.streamSeqs);
    this.coveredFloor = manifest.covers.ackFloor;
    this.appliedTotal = manifest.progress.updatesApplied;
    this.consumedSeq = manifest.progress.consumedSeq ?? 0;
    this.manifestConsumedSeq = this.consumedSeq;
    this.rejectedTotal = manifest.progress.updatesRejected;
    Object.assign(this.rejectedByReason, manifest.progress.rejectedByReason);
    Object.assign(this.appliedByRank, manifest.progress.appliedByRank);
    this.log.info(
      {
        version: manifest.version,
        revision,
        covered: manifest.covers.streamSeqs.length,
        ackFloor: manifest.covers.ackFloor,
        rule: this.rule.describe(),
      },
      'restored the newest snapshot'
    );
  }

  /**
   * Lists the job's stored snapshots up to the restored one, oldest first, so pruning also
   * removes what a crashed run kept. No manifest names a newer object, so those are deleted.
   */
  private async storedSnapshotNames(manifest: Manifest): Promise<string[]> {
    const prefix = `${this.config.job}/v`;
    const older: { name: string; version: number }[] = [];
    for (const info of await this.assets.snapshots.list()) {
      if (info.deleted || !info.name.startsWith(prefix) || info.name === manifest.object) continue;
      const version = Number.parseInt(info.name.slice(prefix.length), 10);
      if (!Number.isSafeInteger(version)) continue;
      if (version < manifest.version) {
        older.push({ name: info.name, version });
        continue;
      }
      await this.assets.snapshots.delete(info.name).catch((err: unknown) => {
        this.log.warn({ err, object: info.name }, 'could not delete an unreferenced snapshot');
      });
    }
    older.sort((a, b) => a.version - b.version);
    return [...older.map((o) => o.name), manifest.object];
  }

  private coveredFloor = 0;

  /** Consumes updates until a stop condition is met or `stop` is called. */
  async run(): Promise<RunReport> {
    const { config } = this;
    const durable = await ensureAggregatorConsumer(this.assets.jsm, config.job, {
      ackWaitMs: config.consumer.ackWaitMs,
      maxAckPending: config.consumer.maxAckPending,
    });
    const consumer = await jetstream(this.nc).consumers.get(UPDATE_STREAM, durable);
    this.trainingStartedAt = Date.now();
    this.lastSnapshotAt = Date.now();
    this.recordVersion();
    this.timer = setInterval(
      () => void this.enqueue(() => this.onTick()),
      Math.min(500, config.snapshot.intervalMs || 500)
    );
    this.log.info(
      { durable, stream: UPDATE_STREAM, pullMessages: this.pullMessages },
      'consuming updates'
    );
    // A stop decided during start (an exhausted epsilon budget) finalizes before any update.
    if (this.stopReason !== null) void this.enqueue(() => this.finalize());

    // At most pullMaxBytes per request: a batch of hundreds of large updates would exceed the
    // server's limit on bytes pending for this client, and the server would close the connection.
    this.messages = await consumer.consume({ max_messages: this.pullMessages });
    this.durable = durable;
    if (this.phase === 'starting') this.phase = 'running';
    for await (const msg of this.messages) {
      await this.enqueue(() => this.handle(msg));
    }
    clearInterval(this.timer);
    await this.serial;
    // Messages the consumer had buffered when it stopped are recorded in one last manifest.
    if (this.fatalError === undefined && this.finalWritten && this.ledger.hasNews) {
      await this.writeSnapshot(true);
    }
    return this.finish();
  }

  private enqueue(task: () => Promise<void> | void): Promise<void> {
    this.serial = this.serial.then(task).catch((err: unknown) => {
      this.log.error({ err }, 'aggregator task failed');
      this.fail(err);
    });
    return this.serial;
  }

  private fatalError: unknown;

  private fail(err: unknown): void {
    this.fatalError ??= err;
    this.phase = 'failed';
    this.messages?.stop();
  }

  /** Returns a copy of the progress counters, for metrics, health checks and the dashboard. */
  status(): AggregatorStatus {
    return {
      job: this.config.job,
      phase: this.phase,
      // The rule exists only after start() has restored or created the model.
      rule: this.rule?.describe() ?? '',
      version: this.rule?.version ?? 0,
      snapshotVersion: this.snapshotVersion,
      updatesApplied: this.appliedTotal,
      updatesRejected: this.rejectedTotal,
      rejectedByReason: { ...this.rejectedByReason },
      appliedByRank: { ...this.appliedByRank },
      metrics: this.metrics,
      evaluations: [...this.history] as EvaluationPoint[],
      stopReason: this.stopReason,
      lastTickAt: this.lastTickAt,
      privacy: this.privacy?.statusAt(this.rule?.version ?? 0) ?? null,
      workerPrivacy: { ...this.workerPrivacy },
    };
  }

  /** Returns the connection and JetStream handles once start() has connected. */
  natsResources(): NatsResources | undefined {
    if (this.nc === undefined || this.assets === undefined) return undefined;
    return { nc: this.nc, assets: this.assets, durable: this.durable };
  }

  /** Requests a clean stop: final snapshot, acknowledgements, report. */
  stop(reason: StopReason = 'signal'): void {
    if (this.stopReason === null) this.stopReason = reason;
    void this.enqueue(() => this.finalize());
  }

  private async onTick(): Promise<void> {
    this.lastTickAt = Date.now();
    this.ledger.keepAlive();
    const expired = this.reassembler.expire(Date.now(), this.config.consumer.chunkTimeoutMs);
    for (const set of expired) {
      this.log.warn(
        { updateId: set.updateId, received: set.received, count: set.count },
        'incomplete chunked update timed out'
      );
      this.reject(
        {
          id: set.updateId,
          reason: 'chunk_timeout',
          detail: `${set.received} of ${set.count} chunks arrived`,
        },
        set.tags
      );
    }
    if (this.finalWritten) return;
    if (this.stopReason !== null) {
      await this.finalize();
      return;
    }
    const budget = this.config.stop.timeBudgetS;
    if (budget > 0 && Date.now() - this.trainingStartedAt >= budget * 1000) {
      this.stopReason ??= 'time_budget';
      await this.finalize();
      return;
    }
    const due = Date.now() - this.lastSnapshotAt >= this.config.snapshot.intervalMs;
    const consumedMore = this.consumedSeq > this.manifestConsumedSeq;
    if (
      due &&
      (this.ledger.hasNews || consumedMore || this.rule.version !== this.snapshotVersion)
    ) {
      await this.writeSnapshot(false);
    }
  }

  private async handle(msg: JsMsg): Promise<void> {
    const seq = msg.seq;
    this.observer?.messageReceived(msg.subject, msg.data.length);
    this.lastMessageAt = Date.now();
    this.consumedSeq = Math.max(this.consumedSeq, seq);
    if (seq <= this.coveredFloor || this.ledger.isCovered(seq)) {
      msg.ack();
      this.log.debug({ seq }, 'message covered by the restored snapshot; acknowledged again');
      return;
    }
    if (this.ledger.isKnown(seq)) {
      this.ledger.refresh(msg);
      return;
    }
    this.ledger.hold(msg);
    const rank = rankFromSubject(msg.subject, this.config.job);
    if (rank === undefined) {
      this.rejectPoison(msg, 'bad_subject', `subject ${msg.subject} has no rank token`);
      return;
    }
    let envelope;
    try {
      envelope = decodeEnvelope(msg.data);
    } catch (err) {
      this.rejectPoison(
        msg,
        'decode_error',
        err instanceof Error ? err.message : String(err),
        rank
      );
      return;
    }
    if (envelope.kind === 'update') {
      await this.handleUpdate(envelope.update, rank, [seq]);
      return;
    }
    let result;
    try {
      result = this.reassembler.add(envelope.chunk, Date.now(), seq);
    } catch (err) {
      if (!(err instanceof ChunkError)) throw err;
      this.rejectPoison(msg, 'chunk_invalid', err.message, rank);
      return;
    }
    if (result.status === 'incomplete') return;
    if (result.status === 'invalid') {
      this.reject(
        { id: envelope.chunk.updateId, reason: 'chunk_invalid', detail: result.error.message },
        result.tags
      );
      return;
    }
    let whole;
    try {
      whole = decodeEnvelope(result.bytes);
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      this.reject({ id: envelope.chunk.updateId, reason: 'decode_error', detail }, result.tags);
      return;
    } finally {
      // Decoding copies every tensor out of the bytes, so their memory can serve the next set.
      this.reassembler.release(result.bytes);
    }
    if (whole.kind !== 'update') {
      this.reject(
        {
          id: envelope.chunk.updateId,
          reason: 'chunk_invalid',
          detail: 'reassembled bytes hold a chunk, not an update',
        },
        result.tags
      );
      return;
    }
    await this.handleUpdate(whole.update, rank, result.tags);
  }

  private rejectPoison(msg: JsMsg, reason: string, detail: string, claimedRank?: number): void {
    this.log.warn(
      {
        subject: msg.subject,
        streamSeq: msg.seq,
        claimedRank,
        reason,
        detail,
        redelivered: msg.redelivered,
      },
      'rejected a malformed message'
    );
    this.reject({ id: `seq:${msg.seq}`, reason, detail }, [msg.seq]);
  }

  private reject(rejection: RejectedUpdate, seqs: readonly number[]): void {
    this.ledger.markRejected(rejection, seqs);
    this.rejectedTotal += 1;
    this.rejectedByReason[rejection.reason] = (this.rejectedByReason[rejection.reason] ?? 0) + 1;
    this.observer?.updateRejected(rejection.reason);
  }

  private updateIdOf(update: UpdateMessage): string | undefined {
    try {
      return formatUpdateId({
        job: update.job,
        rank: update.rank,
        incarnation: update.incarnation,
        seq: update.seq,
      });
    } catch {
      return undefined;
    }
  }

  private async handleUpdate(
    update: UpdateMessage,
    subjectRank: number,
    seqs: number[]
  ): Promise<void> {
    const id = this.updateIdOf(update);
    const fallbackId = id ?? `seq:${seqs[0]}`;
    const rejectUpdate = (reason: string, detail: string) => {
      this.log.warn(
        { updateId: fallbackId, rank: subjectRank, reason, detail, streamSeqs: seqs },
        'rejected an update'
      );
      this.reject({ id: fallbackId, reason, detail }, seqs);
    };
    if (id === undefined)
      return rejectUpdate(
        'invalid_id',
        `job '${update.job}', incarnation '${update.incarnation}', seq ${update.seq} do not form a valid update id`
      );
    if (update.job !== this.config.job)
      return rejectUpdate(
        'job_mismatch',
        `update names job '${update.job}', but it came on job '${this.config.job}'`
      );
    if (update.rank !== subjectRank)
      return rejectUpdate(
        'rank_mismatch',
        `update claims rank ${update.rank}, but it came on the subject of rank ${subjectRank}`
      );
    if (update.architectureHash !== this.archHash)
      return rejectUpdate(
        'architecture_mismatch',
        `update architecture ${update.architectureHash.slice(0, 12)} differs from ${this.archHash.slice(0, 12)}`
      );
    if (this.seenIds.has(id))
      return rejectUpdate('duplicate_update', `update '${id}' was already recorded in this run`);
    if (this.finalWritten) return rejectUpdate('job_finished', 'arrived after the final snapshot');

    const input = {
      id,
      rank: update.rank,
      baseVersion: update.baseVersion,
      numExamples: update.numExamples,
      tensors: new Map(update.tensors.map((t) => [t.name, t.values])),
    };
    const admission = this.rule.admit(input);
    if (!admission.ok) return rejectUpdate(admission.reason, admission.detail);

    this.seenIds.add(id);
    if (update.privacy !== undefined) this.workerPrivacy[update.rank] = { ...update.privacy };
    this.pendingSeqs.set(id, { seqs, rank: update.rank, staleness: admission.staleness });
    const submitStartedAt = performance.now();
    const result = this.rule.submit(input);
    this.observer?.ruleSubmitted((performance.now() - submitStartedAt) / 1000);
    for (const appliedId of result.applied) {
      const pending = this.pendingSeqs.get(appliedId);
      if (!pending) continue;
      this.pendingSeqs.delete(appliedId);
      this.ledger.markApplied(appliedId, pending.seqs);
      this.appliedTotal += 1;
      this.appliedSinceSnapshot += 1;
      this.appliedByRank[pending.rank] = (this.appliedByRank[pending.rank] ?? 0) + 1;
      this.stalenessSum += pending.staleness;
      this.stalenessCount += 1;
      this.observer?.updateApplied(pending.rank, pending.staleness);
    }
    this.log.trace(
      {
        updateId: id,
        staleness: admission.staleness,
        weight: result.weight,
        version: this.rule.version,
      },
      'update accepted'
    );
    if (result.newVersion) await this.afterNewVersion();
  }

  private readonly pendingSeqs = new Map<
    string,
    { seqs: number[]; rank: number; staleness: number }
  >();

  private async afterNewVersion(): Promise<void> {
    const version = this.rule.version;
    this.recordVersion();
    const every = this.config.evaluation.every;
    if (every > 0 && version - this.lastEvaluatedVersion >= every) this.runEvaluation();
    const stop = this.config.stop;
    if (this.stopReason === null) {
      if (stop.targetAccuracy > 0 && this.metrics && this.metrics.top1 >= stop.targetAccuracy)
        this.stopReason = 'target_accuracy';
      else if (stop.maxVersions > 0 && version >= stop.maxVersions)
        this.stopReason = 'max_versions';
      else if (this.privacy?.exceedsBudgetAt(version + 1)) {
        this.stopReason = 'privacy_budget';
        this.log.info(this.privacyLogFields(), 'the next flush would exceed the epsilon budget');
      }
    }
    if (this.stopReason !== null) {
      await this.finalize();
      return;
    }
    if (version - Math.max(this.snapshotVersion, 0) >= this.config.snapshot.every)
      await this.writeSnapshot(false);
  }

  /** Appends the current version to the weights record. A failed write ends the recording. */
  private recordVersion(): void {
    if (this.recorder === undefined) return;
    try {
      this.recorder.append(this.rule.version, Date.now(), this.rule.weights);
    } catch (err) {
      this.log.error(
        { err, path: this.recorder.path, version: this.rule.version },
        'writing the weights record failed, so recording stops while training goes on'
      );
      this.closeRecorder();
    }
  }

  private closeRecorder(): void {
    const recorder = this.recorder;
    this.recorder = undefined;
    try {
      recorder?.close();
    } catch (err) {
      this.log.warn({ err, path: recorder?.path }, 'closing the weights record failed');
    }
  }

  private runEvaluation(): void {
    setWeights(this.model, this.rule.weights);
    const result = evaluate(this.model, this.testSet.images, this.testSet.labels, {
      batchSize: 500,
    });
    this.metrics = {
      version: this.rule.version,
      loss: result.loss,
      top1: result.top1,
      top5: result.top5,
      examples: result.count,
    };
    this.lastEvaluatedVersion = this.rule.version;
    this.history.push({
      ...this.metrics,
      elapsedS: (Date.now() - this.trainingStartedAt) / 1000,
    } as EvaluationMetrics);
    const target = this.config.stop.targetAccuracy;
    if (target > 0 && this.timeToTarget === null && result.top1 >= target) {
      this.timeToTarget = (Date.now() - this.trainingStartedAt) / 1000;
    }
    this.log.info(
      {
        version: this.rule.version,
        loss: result.loss,
        top1: result.top1,
        top5: result.top5,
        ...this.privacyLogFields(),
      },
      'evaluated the global model'
    );
  }

  /** Returns the user-level (epsilon, delta) spent so far for logs; {} without DP. */
  private privacyLogFields(): Record<string, number> {
    if (this.privacy === undefined) return {};
    const status = this.privacy.statusAt(this.rule.version);
    return {
      epsilon: status.epsilon,
      delta: status.delta,
      noisyFlushes: status.releases,
      epsilonBudget: status.epsilonBudget,
    };
  }

  private async finalize(): Promise<void> {
    if (this.finalWritten) return;
    if (this.lastEvaluatedVersion !== this.rule.version) this.runEvaluation();
    // Updates still waiting in a buffer never reach the model; record them as rejected.
    for (const id of this.rule.pending()) {
      const pending = this.pendingSeqs.get(id);
      if (!pending) continue;
      this.pendingSeqs.delete(id);
      this.reject(
        { id, reason: 'job_finished', detail: 'still buffered when the job ended' },
        pending.seqs
      );
    }
    await this.writeSnapshot(true);
    this.finalWritten = true;
    this.finalWrittenAt = Date.now();
    if (this.phase === 'running') this.phase = 'draining';
    this.log.info(
      { version: this.rule.version, reason: this.stopReason },
      'final snapshot written; draining late updates'
    );
    setTimeout(() => void this.enqueue(() => this.endDrain()), FINAL_DRAIN_MS).unref();
  }

  // NOTE: a message the server delivers between the last check and the consumer's stop is
  // neither handled nor acknowledged. It is redelivered after the ack wait to the next
  // aggregator of the job, and stays unrecorded if the job is over.
  private async endDrain(): Promise<void> {
    const now = Date.now();
    const withinLimit = now - this.finalWrittenAt < MAX_DRAIN_MS;
    if (withinLimit && (now - this.lastMessageAt < DRAIN_QUIET_MS || (await this.undelivered()))) {
      setTimeout(() => void this.enqueue(() => this.endDrain()), DRAIN_QUIET_MS).unref();
      return;
    }
    if (this.ledger.hasNews) await this.writeSnapshot(true);
    this.messages?.stop();
  }

  /**
   * Returns true while the server still has messages of this job that this aggregator has not
   * handled: not yet delivered, or delivered and still on their way. Stopping then would
   * leave them unrecorded until their ack wait expires.
   */
  private async undelivered(): Promise<boolean> {
    const info = await this.assets.jsm.consumers
      .info(UPDATE_STREAM, aggregatorDurableName(this.config.job))
      .catch(() => null);
    if (info === null) return false;
    return info.num_pending > 0 || info.delivered.stream_seq > this.consumedSeq;
  }

  private async writeSnapshot(final: boolean): Promise<void> {
    const version = this.rule.version;
    const job = this.config.job;
    if (version !== this.snapshotVersion) {
      const state = this.rule.exportState();
      const bytes = encodeSnapshot({
        job,
        version,
        architectureHash: this.archHash,
        weights: this.spec.map((t) => ({
          name: t.name,
          shape: t.shape,
          values: this.rule.weights.get(t.name)!,
        })),
        stateTensors: [...state.tensors].map(([name, values]) => ({
          name,
          shape: [values.length],
          values,
        })),
        stateScalars: state.scalars,
      });
      // The digest in the name keeps a rival aggregator at the same version from overwriting it.
      const object = `${snapshotObjectName(job, version)}-${sha256Hex(bytes).slice(0, 16)}`;
      this.snapshotSha = await this.retrying('store the snapshot object', () =>
        putSnapshot(this.assets.snapshots, object, bytes)
      );
      this.snapshotObject = object;
    }

    const consumerInfo = await this.assets.jsm.consumers
      .info(UPDATE_STREAM, `agg-${job}`)
      .catch(() => null);
    const ackFloor = Math.max(this.coveredFloor, consumerInfo?.ack_floor.stream_seq ?? 0);
    const now = Date.now();
    const elapsed = Math.max((now - this.lastSnapshotAt) / 1000, 1e-3);
    const manifest: Manifest = {
      schemaVersion: SCHEMA_VERSION,
      job,
      version,
      object: this.snapshotObject,
      sha256: this.snapshotSha,
      architectureHash: this.archHash,
      createdAt: new Date(now).toISOString(),
      writer: this.writerId,
      rule: this.rule.describe(),
      final,
      metrics: this.metrics,
      progress: {
        startedAt: this.startedAt.toISOString(),
        updatesApplied: this.appliedTotal,
        updatesRejected: this.rejectedTotal,
        rejectedByReason: { ...this.rejectedByReason },
        appliedByRank: { ...this.appliedByRank },
        meanStaleness: this.stalenessCount > 0 ? this.stalenessSum / this.stalenessCount : 0,
        updatesPerSecond: this.appliedSinceSnapshot / elapsed,
        consumedSeq: this.consumedSeq,
      },
      covers: {
        ackFloor,
        streamSeqs: this.ledger.coveredSeqs(ackFloor),
        applied: [...this.ledger.appliedIds],
        rejected: [...this.ledger.rejectedUpdates],
      },
    };
    this.manifestRevision = await this.storeManifest(manifest);
    const acknowledged = this.ledger.acknowledgeSettled();
    this.log.debug(
      { version, final, acknowledged, revision: this.manifestRevision },
      'snapshot written'
    );

    if (version !== this.snapshotVersion) {
      this.retained.push(this.snapshotObject);
      await this.pruneSnapshots();
    }
    this.snapshotVersion = version;
    this.manifestConsumedSeq = manifest.progress.consumedSeq;
    this.lastSnapshotAt = now;
    this.appliedSinceSnapshot = 0;
    this.stalenessSum = 0;
    this.stalenessCount = 0;
  }

  /**
   * Runs a NATS operation until it succeeds, waiting longer after each failure. It keeps the
   * serial queue busy meanwhile, so no message is handled while the store is unreachable.
   */
  private async retrying<T>(what: string, operation: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await operation();
      } catch (err) {
        if (err instanceof ManifestConflictError) throw err;
        const waitMs = Math.min(250 * 2 ** (attempt - 1), 2_000);
        this.log.warn({ err, attempt, waitMs }, `could not ${what}; retrying`);
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }

  /**
   * Writes the manifest with the expected revision. When a write times out, the server may
   * still have stored it, so the key is read back: this aggregator's own manifest there
   * counts as written, the unchanged revision is written again, and anything else means
   * another aggregator took over the job, which stops this one.
   */
  private async storeManifest(manifest: Manifest): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await writeManifest(this.assets.modelKv, manifest, this.manifestRevision);
      } catch (err) {
        const latest = await this.retrying('read the manifest back', () =>
          readLatestManifest(this.assets.modelKv, manifest.job)
        );
        const current = latest?.revision ?? 0;
        const ours =
          latest?.manifest.writer === manifest.writer &&
          latest?.manifest.createdAt === manifest.createdAt;
        if (ours) return current;
        if (current !== this.manifestRevision) {
          throw err instanceof ManifestConflictError
            ? err
            : new ManifestConflictError(
                manifest.job,
                this.manifestRevision,
                `manifest of job '${manifest.job}' moved from revision ${this.manifestRevision} to ${current}, written by '${latest?.manifest.writer ?? 'unknown'}': another aggregator is running this job`
              );
        }
        const waitMs = Math.min(250 * 2 ** (attempt - 1), 2_000);
        this.log.warn(
          { err, attempt, waitMs, version: manifest.version },
          'could not write the manifest; retrying'
        );
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }

  private async pruneSnapshots(): Promise<void> {
    while (this.retained.length > Math.max(this.config.snapshot.retain, 1)) {
      const name = this.retained.shift()!;
      try {
        await this.assets.snapshots.delete(name);
      } catch (err) {
        this.log.warn({ err, object: name }, 'could not delete an old snapshot');
      }
    }
  }

  private async finish(): Promise<RunReport> {
    if (this.fatalError !== undefined) throw this.fatalError;
    this.phase = 'stopped';
    const report = buildReport({
      job: this.config.job,
      rule: this.rule.describe(),
      stopReason: this.stopReason ?? 'signal',
      startedAt: this.startedAt,
      trainingSeconds: (Date.now() - this.trainingStartedAt) / 1000,
      version: this.rule.version,
      metrics: this.metrics,
      history: this.history,
      updatesApplied: this.appliedTotal,
      updatesRejected: this.rejectedTotal,
      rejectedByReason: this.rejectedByReason,
      appliedByRank: this.appliedByRank,
      timeToTargetS: this.timeToTarget,
      targetAccuracy: this.config.stop.targetAccuracy,
      privacy: this.privacy?.statusAt(this.rule.version) ?? null,
      workerPrivacy: this.workerPrivacy,
    });
    if (this.config.output.exportDir) {
      setWeights(this.model, this.rule.weights);
      const paths = await exportTfjsModel(this.model, this.config.output.exportDir);
      this.log.info({ ...paths }, 'final model exported in the TensorFlow.js format');
    }
    if (this.config.output.report) {
      writeReport(this.config.output.report, report);
      this.log.info({ path: this.config.output.report }, 'run report written');
    }
    return report;
  }

  /** Closes the NATS connection. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.closeRecorder();
    if (this.nc && !this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
  }
}
