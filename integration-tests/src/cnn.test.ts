import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { connectNats, provisionAssets } from '@asyncfl/transport';
import {
  recordManifests,
  startServer,
  startService,
  tempDir,
  type TestNatsServer,
} from './harness';

describe('CNN training on non-IID shards', () => {
  let server: TestNatsServer;
  let nc: NatsConnection;
  let dir: string;

  before(async () => {
    server = await startServer();
    nc = await connectNats({ servers: [server.url], name: 'integration-test' });
    dir = tempDir('cnn');
  });

  after(async () => {
    await nc?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('lenet on dirichlet shards learns', async () => {
    const job = 'it-cnn';
    const { modelKv } = await provisionAssets(nc);
    const recorder = await recordManifests(modelKv, job);
    const report = join(dir, 'report.json');
    const common = ['--nats', server.url, '--job', job, '--model', 'lenet', '--backend', 'wasm'];
    const aggregator = startService('aggregator', [
      ...common,
      '--target-accuracy',
      '0.7',
      '--time-budget-s',
      '120',
      '--eval-every',
      '5',
      '--report',
      report,
    ]);
    const workers = startService('worker', [
      ...common,
      ...['--rank', '0', '--count', '2', '--world', '2', '--id', 'cnn'],
      ...['--partition', 'dirichlet', '--dirichlet-concentration', '1'],
      ...['--local-steps', '2', '--lr', '0.05'],
    ]);

    const aggregatorCode = await aggregator.exited;
    assert.equal(aggregatorCode, 0, `aggregator failed:\n${aggregator.output.slice(-4000)}`);
    const workersCode = await workers.exited;
    assert.equal(workersCode, 0, `workers failed:\n${workers.output.slice(-4000)}`);
    recorder.stop();

    assert.match(workers.output, /"backend":"wasm"/);
    assert.match(workers.output, /"partition":"dirichlet"/);
    const result = JSON.parse(readFileSync(report, 'utf8'));
    assert.equal(result.stopReason, 'target_accuracy');
    assert.ok(result.final.top1 >= 0.7, `top-1 ${result.final.top1} is below 0.7`);
    // Updates that arrive after the final snapshot are rejected as job_finished; no other
    // reason (a wrong architecture or shape, say) may appear.
    const reasons = recorder.manifests
      .flatMap((manifest) => manifest.covers.rejected)
      .map((rejected) => rejected.reason)
      .filter((reason) => reason !== 'job_finished');
    assert.deepEqual(reasons, []);
  });
});
