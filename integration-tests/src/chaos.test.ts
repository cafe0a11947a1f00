// Fault cases against real nats-server processes. Each case ends with the audit of the
// delivery guarantee: every published update recorded exactly once as applied or rejected,
// and an offline replay of the applied updates reproducing the final model bit for bit.
import { after, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { architectureHash, createModel, initBackend, modelSpec } from '@asyncfl/model';
import {
  encodeUpdate,
  splitIntoChunks,
  updateSubject,
  type Manifest,
  type UpdateFields,
} from '@asyncfl/protocol';
import {
  DEFAULT_PROVISION_OPTIONS,
  LocalNatsCluster,
  LocalNatsServer,
  UPDATE_STREAM,
  connectNats,
  provisionAssets,
  type JetStreamAssets,
} from '@asyncfl/transport';
import { assertExactlyOnce, assertReplayMatches, readStreamUpdates } from './audit';
import { recordManifestsDurably, startService, type ServiceProcess } from './harness';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `condition` holds, checking every 100 ms, failing after `limitMs`. */
async function waitFor(what: string, condition: () => boolean, limitMs = 180_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

interface Run {
  readonly job: string;
  readonly aggregatorArgs: string[];
  readonly aggregator: ServiceProcess;
  readonly workers: ServiceProcess[];
  readonly manifests: Manifest[];
  readonly stopRecording: () => void;
  readonly nc: NatsConnection;
  readonly assets: JetStreamAssets;
}

async function startRun(options: {
  servers: string[];
  job: string;
  replicas?: number;
  maxVersions: number;
  aggregatorFlags?: string[];
  workerFlags?: string[];
  workers: number;
}): Promise<Run> {
  const nc = await connectNats({ servers: options.servers, name: `chaos-${options.job}` });
  const replicas = options.replicas ?? 1;
  const assets = await provisionAssets(nc, { ...DEFAULT_PROVISION_OPTIONS, replicas });
  const recorder = await recordManifestsDurably(nc, options.job);
  const common = [
    '--nats',
    options.servers.join(','),
    '--job',
    options.job,
    '--replicas',
    String(replicas),
  ];
  const aggregatorArgs = [
    ...common,
    '--max-versions',
    String(options.maxVersions),
    ...(options.aggregatorFlags ?? []),
  ];
  const aggregator = startService('aggregator', aggregatorArgs);
  const workers: ServiceProcess[] = [];
  for (let rank = 0; rank < options.workers; rank++) {
    workers.push(startWorker(common, rank, options.workers, options.workerFlags ?? []));
  }
  return {
    job: options.job,
    aggregatorArgs,
    aggregator,
    workers,
    manifests: recorder.manifests,
    stopRecording: recorder.stop,
    nc,
    assets,
  };
}

function startWorker(
  common: string[],
  rank: number,
  world: number,
  flags: string[]
): ServiceProcess {
  return startService('worker', [
    ...common,
    '--rank',
    String(rank),
    '--count',
    '1',
    '--world',
    String(world),
    '--id',
    'chaos',
    ...flags,
  ]);
}

function latestVersion(run: Run): number {
  return run.manifests.at(-1)?.version ?? -1;
}

/** Kills the run's services and closes its connection, for cleanup after a failed test. */
async function stopRun(run: Run): Promise<void> {
  [run.aggregator, ...run.workers].forEach((p) => p.kill('SIGKILL'));
  // A failed test leaves this connection open, and its reconnect attempts keep the file alive.
  if (!run.nc.isClosed()) await run.nc.close();
}

/** Waits for the run to end, then audits exactly-once delivery and the replay. */
async function finishAndAudit(t: TestContext, run: Run): Promise<Manifest[]> {
  const code = await run.aggregator.exited;
  assert.equal(code, 0, `aggregator failed:\n${run.aggregator.output.slice(-6000)}`);
  for (const worker of run.workers) {
    const workerCode = await worker.exited;
    assert.equal(workerCode, 0, `worker failed:\n${worker.output.slice(-4000)}`);
  }
  await sleep(500);
  run.stopRecording();
  const manifests = run.manifests;
  assert.equal(manifests.at(-1)?.final, true, 'the last manifest is not final');
  for (let i = 1; i < manifests.length; i++) {
    assert.ok(manifests[i]!.version >= manifests[i - 1]!.version, 'versions went backwards');
  }
  const { updates, ids } = await readStreamUpdates(run.nc, run.job);
  assertExactlyOnce(ids, manifests);
  const replayed = await assertReplayMatches({
    aggregatorArgs: run.aggregatorArgs,
    manifests,
    updates,
    snapshots: run.assets.snapshots,
  });
  t.diagnostic(
    `${ids.size} published, ${replayed} applied and replayed bit for bit, ${manifests.length} manifests`
  );
  await run.nc.close();
  return manifests;
}

describe('chaos', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  });

  test('nats-server restart mid-run', async (t) => {
    const server = await LocalNatsServer.start();
    cleanups.push(() => server.stop());
    const run = await startRun({
      servers: [server.url],
      job: 'chaos-restart',
      maxVersions: 160,
      workers: 3,
    });
    cleanups.push(() => stopRun(run));
    await waitFor('version 40', () => latestVersion(run) >= 40);

    const versionAtRestart = latestVersion(run);
    const restartedAt = Date.now();
    await server.restart();
    await waitFor(
      'progress after the restart',
      () => latestVersion(run) > versionAtRestart + 4,
      120_000
    );
    const resumedS = (Date.now() - restartedAt) / 1000;
    t.diagnostic(`training resumed ${resumedS.toFixed(1)} s after the restart began`);
    assert.ok(resumedS < 60, `training resumed only after ${resumedS} s`);

    // Every watcher (3 workers and the recorder) keeps one ordered consumer across the
    // restart; a watch that recreated its consumer without the old one expiring would show more.
    const watchers = await run.assets.jsm.consumers.list('KV_fl-model').next();
    assert.ok(
      watchers.length <= 4,
      `${watchers.length} consumers on the model bucket for 4 watchers`
    );

    await finishAndAudit(t, run);
  });

  test('nats-server frozen with SIGSTOP for 15 s', async (t) => {
    const server = await LocalNatsServer.start();
    cleanups.push(() => server.stop());
    const run = await startRun({
      servers: [server.url],
      job: 'chaos-stop',
      maxVersions: 120,
      workers: 3,
    });
    cleanups.push(() => stopRun(run));
    await waitFor('version 30', () => latestVersion(run) >= 30);

    const versionAtStop = latestVersion(run);
    server.signal('SIGSTOP');
    await sleep(15_000);
    server.signal('SIGCONT');
    const resumedAt = Date.now();
    await waitFor('progress after SIGCONT', () => latestVersion(run) > versionAtStop + 4, 120_000);
    t.diagnostic(
      `training resumed ${((Date.now() - resumedAt) / 1000).toFixed(1)} s after SIGCONT`
    );
    await finishAndAudit(t, run);
  });

  test('poison messages, a 3 MB model and a worker killed mid-chunk', async (t) => {
    const server = await LocalNatsServer.start();
    cleanups.push(() => server.stop());
    const hidden = '1000'; // 795,010 parameters: 3.2 MB updates and snapshots
    const run = await startRun({
      servers: [server.url],
      job: 'chaos-poison',
      maxVersions: 40,
      workers: 2,
      aggregatorFlags: ['--hidden', hidden, '--chunk-timeout-ms', '3000'],
      workerFlags: ['--hidden', hidden, '--claim-expire-ms', '3000', '--heartbeat-ms', '500'],
    });
    cleanups.push(() => stopRun(run));
    assert.ok(
      server.url && run.nc.info!.max_payload <= 1024 * 1024,
      'the server should keep its default payload limit'
    );

    await initBackend('cpu');
    const model = createModel('mlp', { hidden: [1000], seed: 1 });
    const spec = modelSpec(model);
    model.dispose();
    const hash = architectureHash(spec);
    const zeros = spec.map((s) => ({
      name: s.name,
      shape: s.shape,
      values: new Float32Array(s.shape.reduce((a, b) => a * b, 1)),
    }));
    const base: UpdateFields = {
      job: run.job,
      rank: 1,
      workerId: 'poison',
      incarnation: 'p0150n',
      seq: 1,
      baseVersion: 0,
      numExamples: 32,
      localSteps: 1,
      localLr: 0.1,
      trainLoss: 1,
      architectureHash: hash,
      tensors: zeros,
    };
    const js = jetstream(run.nc);
    const subject = updateSubject(run.job, 1);
    const whole = encodeUpdate({ ...base, seq: 1 });
    const nan = zeros.map((z, i) =>
      i === 0 ? { ...z, values: z.values.slice().fill(Number.NaN) } : z
    );
    const wrongShape = zeros.map((z, i) =>
      i === 1
        ? { ...z, shape: [z.values.length + 1], values: new Float32Array(z.values.length + 1) }
        : z
    );
    const poison: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['random bytes', Uint8Array.from({ length: 300 }, (_, i) => (i * 7919 + 13) & 0xff)],
      ['claimed length 2^31', new Uint8Array([0x0a, 0x80, 0x80, 0x80, 0x80, 0x08, 0x01])],
      ['truncated', splitIntoChunks('x', whole, 1000)[0]!.subarray(0, 900)],
    ];
    for (const [, bytes] of poison) await js.publish(subject, bytes);
    const nanUpdate = encodeUpdate({ ...base, seq: 2, tensors: nan });
    const shapeUpdate = encodeUpdate({ ...base, seq: 3, tensors: wrongShape });
    const forged = encodeUpdate({ ...base, seq: 4, rank: 0, tensors: zeros });
    // The whole updates are larger than max_payload, so they go in chunks like a worker's.
    for (const [seq, bytes] of [
      [2, nanUpdate],
      [3, shapeUpdate],
      [4, forged],
    ] as const) {
      const id = `${run.job}.${seq === 4 ? 0 : 1}.p0150n.${seq}`;
      for (const [index, chunk] of splitIntoChunks(id, bytes, 900_000).entries()) {
        await js.publish(subject, chunk, { msgID: `${id}.${index}` });
      }
    }
    // A set that never completes, as from a worker killed between two chunks.
    const partialId = `${run.job}.1.p0150n.5`;
    await js.publish(subject, splitIntoChunks(partialId, whole, 900_000)[0]!, {
      msgID: `${partialId}.0`,
    });

    await waitFor('version 10', () => latestVersion(run) >= 10);
    const victim = run.workers[1]!;
    victim.kill('SIGKILL');
    await victim.exited;
    // The dead worker's claim stays live until its heartbeat is older than --claim-expire-ms.
    await sleep(3_500);
    const firstIncarnation = victim.logLines().find((l) => l.msg === 'rank claimed')?.incarnation;
    const replacement = startWorker(
      ['--nats', server.url, '--job', run.job, '--replicas', '1'],
      1,
      2,
      ['--hidden', hidden, '--claim-expire-ms', '3000', '--heartbeat-ms', '500']
    );
    run.workers[1] = replacement;
    await waitFor(
      'the replacement worker to claim rank 1',
      () => replacement.output.includes('rank claimed') || replacement.child.exitCode !== null,
      120_000
    );
    assert.match(
      replacement.output,
      /rank claimed/,
      `replacement worker did not claim its rank:\n${replacement.output.slice(-3000)}`
    );
    const secondIncarnation = replacement
      .logLines()
      .find((l) => l.msg === 'rank claimed')?.incarnation;
    assert.notEqual(
      secondIncarnation,
      firstIncarnation,
      'a restarted worker must use a new incarnation'
    );

    const manifests = await finishAndAudit(t, run);
    const reasons = new Map<string, number>();
    for (const r of manifests.flatMap((m) => m.covers.rejected))
      reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);
    assert.ok(
      (reasons.get('decode_error') ?? 0) >= 4,
      `decode errors: ${reasons.get('decode_error')}`
    );
    assert.ok(reasons.has('non_finite'), 'NaN update not rejected as non_finite');
    assert.ok(reasons.has('wrong_shape'), 'mis-shaped update not rejected as wrong_shape');
    assert.ok(reasons.has('rank_mismatch'), 'forged rank not rejected as rank_mismatch');
    assert.ok(reasons.has('chunk_timeout'), 'incomplete chunk set not freed as chunk_timeout');
    const poisonLogs = run.aggregator
      .logLines()
      .filter((l) => l.msg === 'rejected a malformed message');
    assert.ok(
      poisonLogs.every(
        (l) =>
          typeof l.subject === 'string' && typeof l.streamSeq === 'number' && 'claimedRank' in l
      )
    );
  });

  test('3-node cluster with R3 storage loses its stream leader', async (t) => {
    const cluster = await LocalNatsCluster.start({ size: 3 });
    cleanups.push(() => cluster.stop());
    const run = await startRun({
      servers: cluster.urls,
      job: 'chaos-cluster',
      replicas: 3,
      maxVersions: 120,
      workers: 3,
    });
    cleanups.push(() => stopRun(run));
    await waitFor('version 30', () => latestVersion(run) >= 30);

    const info = await run.assets.jsm.streams.info(UPDATE_STREAM);
    assert.equal(info.config.num_replicas, 3);
    const leader = info.cluster?.leader;
    assert.ok(leader, 'the update stream reports no leader');
    const victim = cluster.byName(leader);
    assert.ok(victim, `no server named ${leader}`);
    const versionAtKill = latestVersion(run);
    await victim.kill('SIGKILL');
    const killedAt = Date.now();
    t.diagnostic(`killed stream leader ${leader} at version ${versionAtKill}`);
    // Generous: clients notice a lost pull request only after two missed heartbeats, and
    // publishers back off while the remaining nodes elect new leaders.
    await waitFor(
      'progress after the leader died',
      () => latestVersion(run) > versionAtKill + 4,
      240_000
    );
    t.diagnostic(
      `training resumed ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`
    );
    await finishAndAudit(t, run);
  });
});
