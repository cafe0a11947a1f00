import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { jobUpdateFilter } from '@asyncfl/protocol';
// The wire encoding of each tensor is visible only in the raw message.
import { asyncfl } from '../../libs/protocol/src/generated/asyncfl.js';
import { UPDATE_STREAM, connectNats, provisionAssets } from '@asyncfl/transport';
import {
  recordManifests,
  startServer,
  startService,
  tempDir,
  type TestNatsServer,
} from './harness';

const { Encoding } = asyncfl.v1;

/** Encodings of the tensors of every whole update in the stream, by rank. */
async function encodingsByRank(
  nc: NatsConnection,
  job: string
): Promise<Map<number, { encoding: number; size: number; kept: number }[][]>> {
  const consumer = await jetstream(nc).consumers.get(UPDATE_STREAM, {
    filter_subjects: jobUpdateFilter(job),
  });
  const byRank = new Map<number, { encoding: number; size: number; kept: number }[][]>();
  for (;;) {
    const msg = await consumer.next({ expires: 2_000 });
    if (msg === null) break;
    const update = asyncfl.v1.Envelope.decode(msg.data).update;
    if (update) {
      const tensors = (update.tensors ?? []).map((t) => ({
        encoding: t.encoding ?? Encoding.ENCODING_FLOAT32,
        size: (t.shape ?? []).map(Number).reduce((a, b) => a * b, 1),
        kept: (t.indices?.length ?? 0) / 4,
      }));
      const rank = update.rank ?? -1;
      byRank.set(rank, [...(byRank.get(rank) ?? []), tensors]);
    }
    if (msg.info.pending === 0) break;
  }
  return byRank;
}

describe('update compression and simulated departure', () => {
  let server: TestNatsServer;
  let nc: NatsConnection;
  let dir: string;

  before(async () => {
    server = await startServer();
    nc = await connectNats({ servers: [server.url], name: 'integration-test' });
    dir = tempDir('compression');
  });

  after(async () => {
    await nc?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('top-k and int8 workers train and one leaves', { timeout: 180_000 }, async () => {
    const job = 'it-compress';
    const { modelKv } = await provisionAssets(nc);
    const recorder = await recordManifests(modelKv, job);
    const report = join(dir, 'report.json');
    const common = ['--nats', server.url, '--job', job, '--world', '2', '--count', '1'];
    const aggregator = startService('aggregator', [
      '--nats',
      server.url,
      '--job',
      job,
      '--time-budget-s',
      '120',
      '--report',
      report,
    ]);
    const leaving = startService('worker', [
      ...common,
      '--rank',
      '0',
      '--compression',
      'topk',
      '--topk-fraction',
      '0.05',
      '--leave-after-s',
      '3',
    ]);
    const staying = startService('worker', [...common, '--rank', '1', '--compression', 'int8']);
    try {
      const leftCode = await leaving.exited;
      assert.equal(leftCode, 0, leaving.output.slice(-2000));
      const left = leaving.logLines().find((l) => l.msg === 'worker stopped');
      assert.equal(left?.exit, 'left', leaving.output.slice(-2000));

      // Train on with the int8 worker alone for a while, then stop the job.
      const deadline = Date.now() + 60_000;
      const appliedNow = () => recorder.manifests.at(-1)?.progress.updatesApplied ?? 0;
      const appliedAtLeave = appliedNow();
      while (appliedNow() < appliedAtLeave + 20 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      aggregator.kill('SIGTERM');
      const aggregatorCode = await aggregator.exited;
      assert.equal(aggregatorCode, 0, aggregator.output.slice(-2000));
      const run = JSON.parse(readFileSync(report, 'utf8')) as {
        rejectedByReason: Record<string, number>;
        appliedByRank: Record<string, number>;
        final: { top1: number };
      };
      // Only updates that arrive after the final snapshot may be rejected.
      for (const [reason, count] of Object.entries(run.rejectedByReason)) {
        if (reason !== 'job_finished') assert.equal(count, 0, `rejected as ${reason}`);
      }
      assert.ok((run.appliedByRank['0'] ?? 0) > 0, JSON.stringify(run.appliedByRank));
      assert.ok((run.appliedByRank['1'] ?? 0) > 0, JSON.stringify(run.appliedByRank));
      // The untrained MLP is near 10%; compressed updates must still train it.
      assert.ok(run.final.top1 > 0.6, `final top-1 ${run.final.top1}`);

      const encodings = await encodingsByRank(nc, job);
      const topk = encodings.get(0) ?? [];
      const int8 = encodings.get(1) ?? [];
      assert.ok(topk.length > 0, 'rank 0 published updates');
      assert.ok(int8.length > 0, 'rank 1 published updates');
      for (const tensors of topk) {
        for (const t of tensors) {
          assert.equal(t.encoding, Encoding.ENCODING_TOPK);
          assert.equal(t.kept, Math.max(1, Math.ceil(0.05 * t.size)));
        }
      }
      for (const tensors of int8) {
        for (const t of tensors) assert.equal(t.encoding, Encoding.ENCODING_INT8);
      }
    } finally {
      recorder.stop();
      aggregator.kill();
      leaving.kill();
      staying.kill();
      await Promise.all([aggregator.exited, leaving.exited, staying.exited]);
    }
  });
});
