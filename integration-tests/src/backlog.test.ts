// An aggregator that starts behind a backlog of large updates, as after an outage of the
// aggregator while workers kept publishing. The backlog exceeds the 64 MiB that nats-server
// buffers for one client by default, so a pull request sized by message count alone would make the
// server close the aggregator's connection as a slow consumer. The server's /varz counts those.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { loadAggregatorConfig } from '@asyncfl/config';
import { architectureHash, createModel, initBackend, modelSpec } from '@asyncfl/model';
import { encodeUpdate, formatUpdateId, updateSubject, type Manifest } from '@asyncfl/protocol';
import {
  LocalNatsServer,
  connectNats,
  freePort,
  provisionAssets,
  type JetStreamAssets,
} from '@asyncfl/transport';
import { assertExactlyOnce } from './audit';
import { recordManifests, startService } from './harness';
import { getJson } from './http-probes';

const JOB = 'it-backlog';
const RANKS = 8;
const UPDATES_PER_RANK = 25;

describe('aggregator behind a backlog of large updates', () => {
  let server: LocalNatsServer;
  let monitorUrl: string;
  let nc: NatsConnection;
  let assets: JetStreamAssets;

  before(async () => {
    const monitorPort = await freePort();
    server = await LocalNatsServer.start({ args: ['-m', String(monitorPort)] });
    monitorUrl = `http://127.0.0.1:${monitorPort}`;
    nc = await connectNats({ servers: [server.url], name: 'integration-test-backlog' });
    assets = await provisionAssets(nc);
  });

  after(async () => {
    await nc?.close();
    await server?.stop();
  });

  test('consumes 80 MB backlog without slow consumer', async () => {
    await initBackend('cpu');
    const { model: modelConfig } = loadAggregatorConfig({ args: [], env: {} });
    const model = createModel(modelConfig.name, {
      hidden: [...modelConfig.hidden],
      seed: modelConfig.seed,
    });
    const spec = modelSpec(model);
    model.dispose();
    const hash = architectureHash(spec);
    // Small deltas that differ per update, so that each one changes the model.
    const tensorsFor = (salt: number) =>
      spec.map((s) => {
        const values = new Float32Array(s.shape.reduce((a, b) => a * b, 1));
        for (let i = 0; i < values.length; i++)
          values[i] = (((i * 31 + salt * 17) % 97) - 48) * 1e-6;
        return { name: s.name, shape: s.shape, values };
      });

    const js = jetstream(nc);
    const published = new Set<string>();
    let backlogBytes = 0;
    for (let seq = 1; seq <= UPDATES_PER_RANK; seq++) {
      for (let rank = 0; rank < RANKS; rank++) {
        const id = formatUpdateId({ job: JOB, rank, incarnation: 'b4c1c0de', seq });
        const bytes = encodeUpdate({
          job: JOB,
          rank,
          workerId: `backlog-${rank}`,
          incarnation: 'b4c1c0de',
          seq,
          baseVersion: 0,
          numExamples: 32,
          localSteps: 1,
          localLr: 0.1,
          trainLoss: 1,
          architectureHash: hash,
          tensors: tensorsFor(seq * RANKS + rank),
        });
        await js.publish(updateSubject(JOB, rank), bytes, { msgID: id });
        published.add(id);
        backlogBytes += bytes.length;
      }
    }
    assert.ok(
      backlogBytes > 64 * 1024 * 1024,
      `the backlog should exceed the server's 64 MiB pending limit (got ${backlogBytes} bytes)`
    );

    const recorder = await recordManifests(assets.modelKv, JOB);
    const total = RANKS * UPDATES_PER_RANK;
    const aggregator = startService('aggregator', [
      '--nats',
      server.url,
      '--job',
      JOB,
      '--max-versions',
      String(total),
      '--max-staleness',
      String(total),
      '--eval-every',
      '50',
    ]);
    const code = await aggregator.exited;
    recorder.stop();
    assert.equal(code, 0, `aggregator exited with ${code}:\n${aggregator.output.slice(-3000)}`);

    const varz = await getJson<{ slow_consumers: number }>(`${monitorUrl}/varz`);
    assert.equal(varz.body.slow_consumers, 0, 'the server dropped a slow consumer');
    const statusChanges = aggregator
      .logLines()
      .filter((line) => line.msg === 'NATS connection status changed');
    assert.deepEqual(statusChanges, [], 'the aggregator lost its connection');

    const manifests: Manifest[] = recorder.manifests;
    const final = manifests.at(-1);
    assert.ok(final?.final, 'no final manifest');
    assert.equal(final.progress.updatesApplied, total);
    assertExactlyOnce(published, manifests);
  });

  test('rejects pull size below max_payload', async () => {
    const aggregator = startService('aggregator', [
      '--nats',
      server.url,
      '--job',
      `${JOB}-small-pull`,
      '--pull-max-bytes',
      '4096',
    ]);
    const code = await aggregator.exited;
    assert.notEqual(code, 0, 'the aggregator should exit with an error');
    assert.match(
      aggregator.output,
      /'consumer.pullMaxBytes' \(--pull-max-bytes\) is too small for this server: a pull request of 4096 bytes has no room for one message of max_payload 1048576 bytes.*at least 1056768/
    );
    assert.ok(
      !aggregator.logLines().some((line) => line.msg === 'consuming updates'),
      'the aggregator consumed before checking its pull size'
    );
  });
});
