// The aggregator's HTTP endpoints and the services' graceful shutdown, against a real run:
// an aggregator and two single-rank workers on a nats-server started by the suite.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsConnection } from '@nats-io/nats-core';
import { workerClaimKey } from '@asyncfl/protocol';
import {
  UPDATE_STREAM,
  aggregatorDurableName,
  connectNats,
  provisionAssets,
  LocalNatsServer,
  type JetStreamAssets,
} from '@asyncfl/transport';
import { recordManifests, startService, type ServiceProcess } from './harness';
import { getJson, samplesByLabel, scrape, waitFor, waitForHttpUrl } from './http-probes';

interface Health {
  ok: boolean;
  checks: Record<string, { ok: boolean; detail: string }>;
}

const JOB = 'it-ops';

describe('aggregator operations on a live run', () => {
  let server: LocalNatsServer;
  let nc: NatsConnection;
  let assets: JetStreamAssets;
  let aggregator: ServiceProcess;
  let workers: ServiceProcess[] = [];
  let url: string;
  let recorder: Awaited<ReturnType<typeof recordManifests>>;

  before(async () => {
    // A process, not a container: the suite kills and restarts the server.
    server = await LocalNatsServer.start();
    nc = await connectNats({ servers: [server.url], name: 'integration-test-operations' });
    assets = await provisionAssets(nc);
    recorder = await recordManifests(assets.modelKv, JOB);
    const common = ['--nats', server.url, '--job', JOB];
    aggregator = startService('aggregator', [
      ...common,
      '--eval-every',
      '2',
      // Only a safety net: the last test stops the aggregator with SIGTERM.
      '--time-budget-s',
      '300',
    ]);
    workers = [0, 1].map((rank) =>
      startService('worker', [
        ...common,
        '--rank',
        String(rank),
        '--count',
        '1',
        '--world',
        '2',
        '--id',
        'ops',
      ])
    );
    url = await waitForHttpUrl(aggregator);
  });

  after(async () => {
    recorder?.stop();
    aggregator?.kill('SIGKILL');
    for (const worker of workers) worker.kill('SIGKILL');
    await Promise.all([aggregator?.exited, ...workers.map((w) => w.exited)]);
    await nc?.close();
    await server?.stop();
  });

  test('readyz passes once the run consumes', async () => {
    const ready = await waitFor(
      '/readyz to return 200',
      async () => {
        const { status, body } = await getJson<Health>(`${url}/readyz`);
        return status === 200 ? body : undefined;
      },
      90_000
    );
    assert.equal(ready.ok, true);
    for (const name of ['phase', 'connection', 'consumer', 'versionStore']) {
      assert.equal(ready.checks[name]?.ok, true, `check ${name}: ${ready.checks[name]?.detail}`);
    }
    const live = await getJson<Health>(`${url}/healthz`);
    assert.equal(live.status, 200);
    assert.equal(live.body.checks.workQueue?.ok, true);
  });

  test('metrics count the applied updates', async () => {
    const samples = await waitFor(
      'version 6 with an evaluation in /metrics',
      async () => {
        const s = await scrape(url);
        const evaluated = Number.isFinite(s.get('asyncfl_evaluation_top1_accuracy'));
        return (s.get('asyncfl_model_version') ?? 0) >= 6 && evaluated ? s : undefined;
      },
      90_000
    );

    const applied = samples.get('asyncfl_updates_applied_total')!;
    assert.ok(applied >= 6, `applied ${applied}`);
    // FedAsync makes one version per applied update.
    assert.equal(samples.get('asyncfl_model_version'), applied);
    const byRank = samplesByLabel(samples, 'asyncfl_rank_updates_applied_total', 'rank');
    assert.deepEqual([...byRank.keys()].sort(), ['0', '1']);
    assert.equal(
      [...byRank.values()].reduce((a, b) => a + b, 0),
      applied
    );
    assert.equal(samples.get('asyncfl_update_staleness_versions_count'), applied);
    assert.equal(samples.get('asyncfl_update_staleness_versions_bucket{le="+Inf"}'), applied);
    assert.equal(samples.get('asyncfl_update_apply_seconds_count'), applied);

    const messages = samples.get('asyncfl_received_messages_total')!;
    assert.ok(messages >= applied, `messages ${messages} < applied ${applied}`);
    // An MLP 784-128-10 update carries about 100k float32 values.
    const bytes = samples.get('asyncfl_received_bytes_total')!;
    assert.ok(bytes >= applied * 100_000 * 4, `bytes ${bytes} for ${applied} updates`);

    const top1 = samples.get('asyncfl_evaluation_top1_accuracy')!;
    assert.ok(top1 > 0, `top1 ${top1}`);
    assert.ok(top1 <= 1, `top1 ${top1}`);
    assert.ok(samples.get('asyncfl_evaluation_loss')! > 0);
    assert.equal(samples.get('asyncfl_ready'), 1);
    const rejected = samplesByLabel(samples, 'asyncfl_updates_rejected_total', 'reason');
    assert.equal(rejected.get('decode_error'), 0);
  });

  test('readyz fails while NATS is down', async () => {
    await server.kill('SIGKILL');
    const down = await waitFor(
      '/readyz to return 503',
      async () => {
        const { status, body } = await getJson<Health>(`${url}/readyz`);
        return status === 503 ? body : undefined;
      },
      30_000
    );
    assert.equal(down.checks.connection?.ok, false, down.checks.connection?.detail);
    const live = await getJson<Health>(`${url}/healthz`);
    assert.equal(live.status, 200, JSON.stringify(live.body));

    await server.restart();
    const up = await waitFor(
      '/readyz to return 200 after the restart',
      async () => {
        const { status, body } = await getJson<Health>(`${url}/readyz`);
        return status === 200 ? body : undefined;
      },
      60_000
    );
    assert.equal(up.ok, true);
  });

  test('SIGTERM stops a worker cleanly', async () => {
    const worker = workers[1]!;
    await waitFor(
      'worker 1 to claim its rank',
      () => (worker.output.includes('rank claimed') ? true : undefined),
      30_000
    );
    worker.kill('SIGTERM');
    const code = await worker.exited;
    assert.equal(code, 0, `worker failed:\n${worker.output.slice(-3000)}`);
    assert.match(worker.output, /"cause":"SIGTERM"/);
    const claim = await assets.workerKv.get(workerClaimKey(JOB, 1));
    assert.notEqual(claim?.operation, 'PUT', 'rank 1 is still claimed after the worker stopped');
  });

  test('SIGTERM stores a final snapshot and exits 0', async (t) => {
    const before = (await scrape(url)).get('asyncfl_model_version')!;
    aggregator.kill('SIGTERM');
    const code = await aggregator.exited;
    assert.equal(code, 0, `aggregator failed:\n${aggregator.output.slice(-4000)}`);

    const stopped = aggregator.logLines().find((l) => l.msg === 'aggregator stopped');
    assert.ok(stopped, 'no "aggregator stopped" log line');
    assert.equal(stopped.stopReason, 'signal');
    assert.ok(Number(stopped.version) >= before);

    await waitFor(
      'the final manifest',
      () => (recorder.manifests.at(-1)?.final ? true : undefined),
      10_000
    );
    const final = recorder.manifests.at(-1)!;
    assert.equal(final.final, true);
    assert.equal(final.version, stopped.version);
    assert.ok(final.metrics, 'final manifest has no evaluation');
    assert.equal(final.metrics.version, final.version);

    // Everything the aggregator recorded was acknowledged before it exited, except for what
    // the network lost.
    // NOTE: acknowledgements are not confirmed by the server. One sent just before the server
    // restart earlier in this suite can be lost, and so can a message delivered in the last
    // moment before the consumer stops. Either stays pending until its ack wait expires and is
    // then redelivered, and the ledger records it once (seen in 3 of 4 runs, up to 2 messages).
    // So this bounds their number instead of requiring the ack floor to reach the covered range.
    const covered = Math.max(final.covers.ackFloor, ...final.covers.streamSeqs);
    const readConsumer = () => assets.jsm.consumers.info(UPDATE_STREAM, aggregatorDurableName(JOB));
    // The server applies acknowledgements after reading them, so the ack floor can move after
    // the aggregator, which flushed them, has exited.
    const consumer = await waitFor(
      `the ack floor to reach sequence ${covered}`,
      async () => {
        const info = await readConsumer();
        return info.ack_floor.stream_seq >= covered ? info : undefined;
      },
      5_000
    ).catch(() => readConsumer());
    assert.ok(consumer.num_ack_pending <= 4, `${consumer.num_ack_pending} messages unacknowledged`);
    t.diagnostic(
      `ack floor ${consumer.ack_floor.stream_seq}, covered up to ${covered}, ${consumer.num_ack_pending} pending`
    );

    // The remaining worker reads the final manifest and exits by itself.
    const workerCode = await workers[0]!.exited;
    assert.equal(workerCode, 0, `worker 0 failed:\n${workers[0]!.output.slice(-3000)}`);
    assert.match(workers[0]!.output, /job is final; worker exiting/);
  });
});
