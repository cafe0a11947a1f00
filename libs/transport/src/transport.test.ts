import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  decodeEnvelope,
  encodeUpdate,
  formatUpdateId,
  prepareUpdate,
  updateSubject,
  Reassembler,
  type Manifest,
  type UpdateFields,
} from '@asyncfl/protocol';
import {
  ConnectError,
  LocalNatsServer,
  ManifestConflictError,
  RankClaimedError,
  StreamFullError,
  UPDATE_STREAM,
  claimRank,
  connectNats,
  ensureAggregatorConsumer,
  getSnapshot,
  provisionAssets,
  publishUpdate,
  putSnapshot,
  readLatestManifest,
  writeManifest,
  DEFAULT_PROVISION_OPTIONS,
  SnapshotError,
  freePort,
  type JetStreamAssets,
} from './index';

function updateFields(job: string, rank: number, seq: number, size: number): UpdateFields {
  return {
    job,
    rank,
    workerId: `w-${rank}`,
    incarnation: 'abc123',
    seq,
    baseVersion: 0,
    numExamples: 32,
    localSteps: 1,
    localLr: 0.1,
    trainLoss: 1,
    architectureHash: 'x',
    tensors: [{ name: 'w', shape: [size], values: new Float32Array(size).fill(seq) }],
  };
}

function update(job: string, rank: number, seq: number, size: number) {
  return encodeUpdate(updateFields(job, rank, seq, size));
}

/**
 * Reads `messages` chunk messages of `job` through the aggregator's durable consumer, checking
 * that each is a chunk, and returns the reassembled update with the `Nats-Msg-Id` of each chunk.
 */
async function consumeChunks(
  js: JetStreamClient,
  assets: JetStreamAssets,
  job: string,
  messages: number
): Promise<{ whole: Uint8Array | undefined; msgIds: (string | undefined)[] }> {
  const durable = await ensureAggregatorConsumer(assets.jsm, job, {
    ackWaitMs: 30_000,
    maxAckPending: 100,
  });
  const consumer = await js.consumers.get(UPDATE_STREAM, durable);
  const reassembler = new Reassembler<number>({ maxUpdateBytes: 64 << 20, maxOpenSets: 8 });
  let whole: Uint8Array | undefined;
  const msgIds: (string | undefined)[] = [];
  for (let i = 0; i < messages; i++) {
    const msg = await consumer.next({ expires: 5_000 });
    assert.ok(msg, 'expected a chunk');
    msgIds.push(msg.headers?.get('Nats-Msg-Id'));
    const decoded = decodeEnvelope(msg.data);
    assert.equal(decoded.kind, 'chunk');
    if (decoded.kind !== 'chunk') break;
    const result = reassembler.add(decoded.chunk, Date.now(), msg.seq);
    if (result.status === 'complete') whole = result.bytes;
    msg.ack();
  }
  return { whole, msgIds };
}

function manifest(job: string, version: number): Manifest {
  return {
    schemaVersion: 1,
    job,
    version,
    object: `${job}/v${version}`,
    sha256: '',
    architectureHash: '',
    createdAt: new Date().toISOString(),
    rule: 'test',
    final: false,
    metrics: null,
    progress: {
      startedAt: new Date().toISOString(),
      updatesApplied: 0,
      updatesRejected: 0,
      rejectedByReason: {},
      appliedByRank: {},
      meanStaleness: 0,
      updatesPerSecond: 0,
      consumedSeq: 0,
    },
    covers: { ackFloor: 0, streamSeqs: [], applied: [], rejected: [] },
  };
}

describe('transport against a real nats-server', () => {
  let server: LocalNatsServer;
  let nc: NatsConnection;

  before(async () => {
    server = await LocalNatsServer.start();
    nc = await connectNats({ servers: [server.url], name: 'transport-test' });
  });

  after(async () => {
    await nc?.close();
    await server?.stop();
  });

  test('provisioning twice is idempotent', async () => {
    await provisionAssets(nc);
    const assets = await provisionAssets(nc);
    const info = await assets.jsm.streams.info(UPDATE_STREAM);
    assert.deepEqual(info.config.subjects, ['fl.*.update.*']);
    const name = await ensureAggregatorConsumer(assets.jsm, 'jobA', {
      ackWaitMs: 30_000,
      maxAckPending: 100,
    });
    assert.equal(
      await ensureAggregatorConsumer(assets.jsm, 'jobA', { ackWaitMs: 60_000, maxAckPending: 100 }),
      name
    );
    const consumer = await assets.jsm.consumers.info(UPDATE_STREAM, name);
    assert.equal(consumer.config.ack_wait, 60_000 * 1_000_000);
  });

  test('small update is published whole and a retry is a duplicate', async () => {
    await provisionAssets(nc);
    const js = jetstream(nc);
    const id = formatUpdateId({ job: 'jobB', rank: 0, incarnation: 'abc123', seq: 1 });
    const bytes = update('jobB', 0, 1, 10);
    const first = await publishUpdate(js, updateSubject('jobB', 0), id, bytes, {
      maxPayload: nc.info!.max_payload,
    });
    assert.equal(first.messages, 1);
    assert.equal(first.duplicates, 0);
    const again = await publishUpdate(js, updateSubject('jobB', 0), id, bytes, {
      maxPayload: nc.info!.max_payload,
    });
    assert.equal(again.duplicates, 1);
    assert.deepEqual(again.streamSeqs, first.streamSeqs);
  });

  test('update above max_payload is chunked and reassembles', async () => {
    const assets = await provisionAssets(nc);
    const js = jetstream(nc);
    const size = 400_000; // 1.6 MB of float32, above the default 1 MiB limit
    const id = formatUpdateId({ job: 'jobC', rank: 2, incarnation: 'abc123', seq: 1 });
    const bytes = update('jobC', 2, 1, size);
    assert.ok(bytes.length > nc.info!.max_payload);
    const published = await publishUpdate(js, updateSubject('jobC', 2), id, bytes, {
      maxPayload: nc.info!.max_payload,
    });
    assert.equal(published.messages, 2);

    const { whole } = await consumeChunks(js, assets, 'jobC', published.messages);
    assert.ok(whole);
    assert.equal(Buffer.compare(Buffer.from(whole), Buffer.from(bytes)), 0);
  });

  test('prepared update is chunked like its bytes', async () => {
    const assets = await provisionAssets(nc);
    const js = jetstream(nc);
    const fields = updateFields('jobP', 1, 3, 700_000);
    const id = formatUpdateId({ job: 'jobP', rank: 1, incarnation: 'abc123', seq: 3 });
    const prepared = prepareUpdate(fields);
    assert.ok(prepared.byteLength > 2 * nc.info!.max_payload);
    const published = await publishUpdate(js, updateSubject('jobP', 1), id, prepared, {
      maxPayload: nc.info!.max_payload,
    });
    assert.equal(published.messages, 3);

    const { whole, msgIds } = await consumeChunks(js, assets, 'jobP', published.messages);
    assert.deepEqual(
      msgIds,
      [0, 1, 2].map((index) => `${id}.${index}`)
    );
    assert.ok(whole);
    const expected = encodeUpdate(fields);
    assert.equal(Buffer.compare(Buffer.from(whole), Buffer.from(expected)), 0);
  });

  test('second live claimant of a rank is refused', async () => {
    const { workerKv } = await provisionAssets(nc);
    const options = { heartbeatMs: 200, expireMs: 5_000 };
    const base = { workerId: 'w-1', host: 'h', pid: 1 };
    const lease = await claimRank(workerKv, 'jobD', 1, { ...base, incarnation: 'i1' }, options);
    await assert.rejects(
      claimRank(workerKv, 'jobD', 1, { ...base, incarnation: 'i2' }, options),
      (err: unknown) =>
        err instanceof RankClaimedError && /rank 1 of job 'jobD' is held/.test(err.message)
    );
    await lease.release();
    const second = await claimRank(workerKv, 'jobD', 1, { ...base, incarnation: 'i2' }, options);
    await second.release();
  });

  test('expired claim is taken over', async () => {
    const { workerKv } = await provisionAssets(nc);
    const stale = {
      workerId: 'gone',
      incarnation: 'old',
      host: 'h',
      pid: 1,
      heartbeatAt: Date.now() - 60_000,
    };
    await workerKv.put('jobE.0', new TextEncoder().encode(JSON.stringify(stale)));
    const lease = await claimRank(
      workerKv,
      'jobE',
      0,
      { workerId: 'new', incarnation: 'i', host: 'h', pid: 2 },
      { heartbeatMs: 1000, expireMs: 5000 }
    );
    await lease.release();
  });

  test('manifest write with a stale revision is a conflict', async () => {
    const { modelKv } = await provisionAssets(nc);
    const first = await writeManifest(modelKv, manifest('jobF', 1), 0);
    const second = await writeManifest(modelKv, manifest('jobF', 2), first);
    await assert.rejects(writeManifest(modelKv, manifest('jobF', 3), first), ManifestConflictError);
    await assert.rejects(writeManifest(modelKv, manifest('jobF', 3), 0), ManifestConflictError);
    const latest = await readLatestManifest(modelKv, 'jobF');
    assert.equal(latest?.manifest.version, 2);
    assert.equal(latest?.revision, second);
  });

  test('snapshot digest mismatch is detected', async () => {
    const { snapshots } = await provisionAssets(nc);
    const bytes = new Uint8Array(3_000_000).map((_, i) => i & 0xff);
    const digest = await putSnapshot(snapshots, 'jobG/v1', bytes);
    // Chunks as large as the server's max_payload, not the object store's 128 KiB default.
    const maxPayload = nc.info!.max_payload;
    assert.equal((await snapshots.info('jobG/v1'))?.chunks, Math.ceil(bytes.length / maxPayload));
    const good = { ...manifest('jobG', 1), sha256: digest };
    assert.equal((await getSnapshot(snapshots, good)).length, bytes.length);
    await assert.rejects(getSnapshot(snapshots, { ...good, sha256: '00' }), SnapshotError);
    await assert.rejects(getSnapshot(snapshots, { ...good, object: 'jobG/v9' }), /missing/);
  });

  test('connecting to a closed port fails with a clear error', async () => {
    const port = await freePort();
    await assert.rejects(
      connectNats({ servers: [`nats://127.0.0.1:${port}`], name: 't', connectTimeoutMs: 1000 }),
      (err: unknown) => err instanceof ConnectError && err.message.includes(`127.0.0.1:${port}`)
    );
  });
});

describe('full update stream', () => {
  test('publish to a full stream raises StreamFullError', async () => {
    const server = await LocalNatsServer.start();
    const nc = await connectNats({ servers: [server.url], name: 'full-test' });
    try {
      await provisionAssets(nc, { ...DEFAULT_PROVISION_OPTIONS, updateMaxBytes: 64 * 1024 });
      const js = jetstream(nc);
      const publishOne = (seq: number) =>
        publishUpdate(
          js,
          updateSubject('jobH', 0),
          formatUpdateId({ job: 'jobH', rank: 0, incarnation: 'abc', seq }),
          update('jobH', 0, seq, 4000),
          { maxPayload: nc.info!.max_payload, maxAttempts: 2 }
        );
      let error: unknown;
      for (let seq = 1; seq <= 10 && !error; seq++)
        await publishOne(seq).catch((err: unknown) => (error = err));
      assert.ok(error instanceof StreamFullError, `expected StreamFullError, got ${String(error)}`);
    } finally {
      await nc.close();
      await server.stop();
    }
  });
});
