import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream } from '@nats-io/jetstream';
import { readWeightsRecord } from '@asyncfl/model';
import { decodeSnapshot, encodeUpdate, updateSubject } from '@asyncfl/protocol';
import { connectNats, getSnapshot, provisionAssets } from '@asyncfl/transport';
import { assertReplayMatches, readStreamUpdates } from './audit';
import {
  publishedUpdateIds,
  recordManifests,
  recordedIds,
  startServer,
  startService,
  tempDir,
  type TestNatsServer,
} from './harness';

describe('asynchronous training on MNIST digits', () => {
  let server: TestNatsServer;
  let nc: NatsConnection;
  let dir: string;

  before(async () => {
    server = await startServer();
    nc = await connectNats({ servers: [server.url], name: 'integration-test' });
    dir = tempDir('training');
  });

  after(async () => {
    await nc?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('four workers pass 85% and every update is accounted for', async () => {
    const job = 'it-train';
    const { modelKv } = await provisionAssets(nc);
    const recorder = await recordManifests(modelKv, job);
    const report = join(dir, 'report.json');
    const common = ['--nats', server.url, '--job', job];
    const aggregatorArgs = [
      ...common,
      '--target-accuracy',
      '0.86',
      '--time-budget-s',
      '240',
      '--report',
      report,
      '--export-dir',
      join(dir, 'model'),
      '--record-weights',
      join(dir, 'versions.bin'),
    ];
    const aggregator = startService('aggregator', aggregatorArgs);
    const workers = startService('worker', [
      ...common,
      '--rank',
      '0',
      '--count',
      '4',
      '--world',
      '4',
      '--id',
      'it',
    ]);

    // A few poison messages on a real rank subject: they must be rejected and recorded.
    const js = jetstream(nc);
    await js.publish(updateSubject(job, 1), new Uint8Array([1, 2, 3, 4, 5]));
    await js.publish(updateSubject(job, 2), new Uint8Array(0));
    await js.publish(
      updateSubject(job, 3),
      encodeUpdate({
        job,
        rank: 2,
        workerId: 'forged',
        incarnation: 'f0',
        seq: 1,
        baseVersion: 0,
        numExamples: 1,
        localSteps: 1,
        localLr: 1,
        trainLoss: 0,
        architectureHash: '',
        tensors: [],
      })
    );

    const aggregatorCode = await aggregator.exited;
    assert.equal(aggregatorCode, 0, `aggregator failed:\n${aggregator.output.slice(-4000)}`);
    const workersCode = await workers.exited;
    assert.equal(workersCode, 0, `workers failed:\n${workers.output.slice(-4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    recorder.stop();

    const result = JSON.parse(readFileSync(report, 'utf8'));
    assert.equal(result.stopReason, 'target_accuracy');
    assert.ok(result.final.top1 > 0.85, `top-1 ${result.final.top1} is not above 0.85`);
    assert.ok(result.final.top5 >= result.final.top1);
    assert.ok(existsSync(join(dir, 'model', 'model.json')), 'exported model.json is missing');

    const manifests = recorder.manifests;
    assert.ok(manifests.length > 2, 'expected several manifests');
    assert.equal(manifests.at(-1)!.final, true);
    for (let i = 1; i < manifests.length; i++) {
      assert.ok(manifests[i]!.version >= manifests[i - 1]!.version, 'versions went backwards');
    }

    const published = await publishedUpdateIds(nc, job);
    const recorded = recordedIds(manifests);
    const missing = [...published.keys()].filter((id) => !recorded.has(id));
    const doubled = [...recorded].filter(([, n]) => n > 1).map(([id]) => id);
    const unknown = [...recorded.keys()].filter((id) => !published.has(id));
    assert.deepEqual(missing, [], 'published updates with no record');
    assert.deepEqual(doubled, [], 'updates recorded more than once');
    assert.deepEqual(unknown, [], 'records of updates never published');

    const { updates } = await readStreamUpdates(nc, job);
    const replayed = await assertReplayMatches({
      aggregatorArgs,
      manifests,
      updates,
      snapshots: (await provisionAssets(nc)).snapshots,
    });
    assert.equal(replayed, result.updatesApplied);

    // The weights record contains every version from the initial model (version 0) to the final
    // one, and its last entry is the final snapshot's model.
    const record = readWeightsRecord(join(dir, 'versions.bin'));
    assert.equal(record.truncatedBytes, 0);
    const recordedVersions = record.versions.map((v) => v.version);
    const finalManifest = manifests.at(-1)!;
    assert.deepEqual(
      recordedVersions,
      Array.from({ length: finalManifest.version + 1 }, (_, version) => version)
    );
    for (let i = 1; i < record.versions.length; i++) {
      assert.ok(record.versions[i]!.timeMs >= record.versions[i - 1]!.timeMs, `time of entry ${i}`);
    }
    const finalSnapshot = decodeSnapshot(
      await getSnapshot((await provisionAssets(nc)).snapshots, finalManifest)
    );
    const lastRecorded = record.versions.at(-1)!.weights;
    for (const tensor of finalSnapshot.weights) {
      assert.deepEqual(lastRecorded.get(tensor.name), tensor.values, `tensor ${tensor.name}`);
    }

    const rejected = manifests.flatMap((m) => m.covers.rejected);
    const reasons = new Set(rejected.map((r) => r.reason));
    assert.ok(reasons.has('decode_error'), 'random bytes were not rejected as decode_error');
    assert.ok(reasons.has('rank_mismatch'), 'forged rank was not rejected as rank_mismatch');
    const applied = manifests.reduce((n, m) => n + m.covers.applied.length, 0);
    assert.equal(applied, result.updatesApplied);
    assert.equal(rejected.length, result.updatesRejected);
  });

  test('second worker on a claimed rank is refused', async () => {
    const job = 'it-claim';
    const common = ['--nats', server.url, '--job', job, '--world', '2', '--count', '1'];
    const first = startService('worker', [...common, '--rank', '1', '--id', 'first']);
    // Wait until the first worker has claimed its rank.
    for (let i = 0; i < 200 && !first.output.includes('rank claimed'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.match(first.output, /rank claimed/);
    const second = startService('worker', [...common, '--rank', '1', '--id', 'second']);
    const code = await second.exited;
    first.kill();
    await first.exited;
    assert.equal(code, 1);
    assert.match(second.output, /rank 1 of job 'it-claim' is held by worker 'first-1'/);
  });

  test('bad flags stop the worker before it connects', async () => {
    const worker = startService('worker', [
      '--nats',
      'nats://127.0.0.1:1',
      '--rank',
      '3',
      '--count',
      '2',
      '--world',
      '4',
    ]);
    const code = await worker.exited;
    assert.equal(code, 2);
    assert.match(worker.output, /--rank 3 with --count 2 needs ranks 3\.\.4, but --world 4/);
    assert.doesNotMatch(worker.output, /connect/i);
  });
});
