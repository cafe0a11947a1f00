import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstreamManager,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Kvm, type KV } from '@nats-io/kv';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { ALL_UPDATES_FILTER, assertJobName, jobUpdateFilter } from '@asyncfl/protocol';
import { ProvisionError } from './errors';

/** Name of the stream that contains every job's updates. */
export const UPDATE_STREAM = 'FL_UPDATES';
/** KV bucket holding each job's newest manifest at `<job>.latest`. */
export const MODEL_BUCKET = 'fl-model';
/** KV bucket holding rank claims at `<job>.<rank>`. */
export const WORKER_BUCKET = 'fl-workers';
/** Object store holding snapshot weights. */
export const SNAPSHOT_STORE = 'fl-models';

/** Limits and placement of the JetStream assets. */
export interface ProvisionOptions {
  /** Copies of each asset: 1 on a single server, 3 in a cluster. */
  readonly replicas: number;
  /** Oldest update kept, in milliseconds. */
  readonly updateMaxAgeMs: number;
  /** Largest total size of the update stream, in bytes. */
  readonly updateMaxBytes: number;
  /** Window in which a repeated `Nats-Msg-Id` is dropped as a duplicate, in milliseconds. */
  readonly duplicateWindowMs: number;
  /** Manifests kept per key in the model bucket. */
  readonly manifestHistory: number;
}

/** Defaults for a single local server. */
export const DEFAULT_PROVISION_OPTIONS: ProvisionOptions = {
  replicas: 1,
  updateMaxAgeMs: 24 * 60 * 60 * 1000,
  updateMaxBytes: 4 * 1024 * 1024 * 1024,
  duplicateWindowMs: 2 * 60 * 1000,
  manifestHistory: 16,
};

/** Open handles of everything the aggregator and workers use. */
export interface JetStreamAssets {
  readonly jsm: JetStreamManager;
  readonly modelKv: KV;
  readonly workerKv: KV;
  readonly snapshots: ObjectStore;
}

const ms = (value: number) => value * 1_000_000;

/** Returns the update stream's configuration for the given limits. */
export function updateStreamConfig(
  options: ProvisionOptions
): Partial<StreamConfig> & { name: string } {
  return {
    name: UPDATE_STREAM,
    subjects: [ALL_UPDATES_FILTER],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: options.replicas,
    max_age: ms(options.updateMaxAgeMs),
    max_bytes: options.updateMaxBytes,
    // Refuse new updates when full rather than silently dropping unconsumed old ones.
    discard: DiscardPolicy.New,
    duplicate_window: ms(options.duplicateWindowMs),
  };
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Creates the update stream, both KV buckets and the object store, or checks that they
 * exist. Safe to call from every process at every start. Limits of an existing stream are
 * updated to the given values.
 */
export async function provisionAssets(
  nc: NatsConnection,
  options: ProvisionOptions = DEFAULT_PROVISION_OPTIONS
): Promise<JetStreamAssets> {
  const jsm = await jetstreamManager(nc).catch((err: unknown) => {
    throw new ProvisionError(
      `JetStream is not available on the server: ${describe(err)}; start nats-server with -js`,
      { cause: err }
    );
  });
  const wanted = updateStreamConfig(options);
  try {
    const info = await jsm.streams.info(UPDATE_STREAM);
    if (!info.config.subjects?.includes(ALL_UPDATES_FILTER)) {
      throw new ProvisionError(
        `stream ${UPDATE_STREAM} exists with subjects ${JSON.stringify(info.config.subjects)}, not '${ALL_UPDATES_FILTER}'`
      );
    }
    const changed =
      info.config.max_age !== wanted.max_age ||
      info.config.max_bytes !== wanted.max_bytes ||
      info.config.duplicate_window !== wanted.duplicate_window ||
      info.config.discard !== wanted.discard;
    if (changed) await jsm.streams.update(UPDATE_STREAM, { ...info.config, ...wanted });
  } catch (err) {
    if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) {
      if (err instanceof ProvisionError) throw err;
      throw new ProvisionError(`cannot check stream ${UPDATE_STREAM}: ${describe(err)}`, {
        cause: err,
      });
    }
    await jsm.streams.add(wanted).catch((addErr: unknown) => {
      throw new ProvisionError(`cannot create stream ${UPDATE_STREAM}: ${describe(addErr)}`, {
        cause: addErr,
      });
    });
  }

  try {
    const kvm = new Kvm(nc);
    const modelKv = await kvm.create(MODEL_BUCKET, {
      history: options.manifestHistory,
      replicas: options.replicas,
    });
    const workerKv = await kvm.create(WORKER_BUCKET, { history: 1, replicas: options.replicas });
    const snapshots = await new Objm(nc).create(SNAPSHOT_STORE, {
      replicas: options.replicas,
      storage: StorageType.File,
    });
    return { jsm, modelKv, workerKv, snapshots };
  } catch (err) {
    throw new ProvisionError(`cannot create the KV buckets or object store: ${describe(err)}`, {
      cause: err,
    });
  }
}

/** Handles of the assets a worker reads and writes; opened, never created. */
export interface WorkerAssets {
  readonly modelKv: KV;
  readonly workerKv: KV;
  readonly snapshots: ObjectStore;
}

/**
 * Opens the model bucket, the workers bucket and the object store without creating or
 * changing anything, so a worker needs no stream-management rights. Throws ProvisionError
 * naming the first missing asset when the aggregator has not created them yet.
 */
export async function openAssets(nc: NatsConnection): Promise<WorkerAssets> {
  const open = async <T>(name: string, opener: () => Promise<T>): Promise<T> => {
    try {
      return await opener();
    } catch (err) {
      const missing =
        isApiError(err, JetStreamApiCodes.StreamNotFound) || /not found/i.test(describe(err));
      throw new ProvisionError(
        missing
          ? `${name} does not exist yet; the aggregator creates it when it starts`
          : `cannot open ${name}: ${describe(err)}`,
        { cause: err }
      );
    }
  };
  const kvm = new Kvm(nc);
  // A bound bucket is not checked until used, so `status` reads its stream info here. The
  // buckets were created with direct get, which names the key in the request subject, so
  // permissions can be granted per key.
  const openBucket = async (bucket: string) => {
    const kv = await kvm.open(bucket, { allow_direct: true });
    await kv.status();
    return kv;
  };
  const modelKv = await open(`KV bucket ${MODEL_BUCKET}`, () => openBucket(MODEL_BUCKET));
  const workerKv = await open(`KV bucket ${WORKER_BUCKET}`, () => openBucket(WORKER_BUCKET));
  const snapshots = await open(`object store ${SNAPSHOT_STORE}`, () =>
    new Objm(nc).open(SNAPSHOT_STORE)
  );
  return { modelKv, workerKv, snapshots };
}

/** Settings of a job's durable aggregator consumer. */
export interface ConsumerOptions {
  /** Time the server waits for an acknowledgement before redelivering, in milliseconds. */
  readonly ackWaitMs: number;
  /** Most messages delivered and not yet acknowledged. */
  readonly maxAckPending: number;
}

/** Room above max_payload for a message's subjects and headers, in bytes. */
export const PULL_HEADROOM_BYTES = 8 * 1024;

/**
 * Returns how many messages one pull request may request so that they total at most
 * `maxBytes`, with messages of up to `maxPayload` bytes plus their subjects and headers. A
 * count, not a byte limit, because nats.js 3.3 can wait about two heartbeat intervals (30 s by
 * default) when the server ends a byte-limited request early.
 *
 * @throws RangeError when `maxBytes` has no room for one message of `maxPayload` bytes.
 */
export function pullBatchSize(maxBytes: number, maxPayload: number): number {
  const perMessage = maxPayload + PULL_HEADROOM_BYTES;
  if (!(maxBytes >= perMessage)) {
    throw new RangeError(
      `a pull request of ${maxBytes} bytes has no room for one message of max_payload ${maxPayload} bytes with its subject and headers; allow at least ${perMessage}`
    );
  }
  return Math.floor(maxBytes / perMessage);
}

/** Durable consumer name of a job's aggregator. */
export function aggregatorDurableName(job: string): string {
  assertJobName(job);
  return `agg-${job}`;
}

/** Creates the job's durable pull consumer, or updates its settings, and returns its name. */
export async function ensureAggregatorConsumer(
  jsm: JetStreamManager,
  job: string,
  options: ConsumerOptions
): Promise<string> {
  const name = aggregatorDurableName(job);
  const config: Partial<ConsumerConfig> = {
    durable_name: name,
    filter_subject: jobUpdateFilter(job),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: ms(options.ackWaitMs),
    max_ack_pending: options.maxAckPending,
    max_deliver: -1,
  };
  try {
    const info = await jsm.consumers.info(UPDATE_STREAM, name);
    if (info.config.filter_subject !== config.filter_subject) {
      throw new ProvisionError(
        `consumer ${name} filters '${info.config.filter_subject}', expected '${config.filter_subject}'; delete it or use another job name`
      );
    }
    if (
      info.config.ack_wait !== config.ack_wait ||
      info.config.max_ack_pending !== config.max_ack_pending
    ) {
      await jsm.consumers.update(UPDATE_STREAM, name, {
        ack_wait: config.ack_wait,
        max_ack_pending: config.max_ack_pending,
      });
    }
  } catch (err) {
    if (err instanceof ProvisionError) throw err;
    if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound)) {
      throw new ProvisionError(`cannot check consumer ${name}: ${describe(err)}`, { cause: err });
    }
    await jsm.consumers.add(UPDATE_STREAM, config).catch((addErr: unknown) => {
      throw new ProvisionError(`cannot create consumer ${name}: ${describe(addErr)}`, {
        cause: addErr,
      });
    });
  }
  return name;
}
