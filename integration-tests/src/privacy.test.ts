import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { RdpAccountant } from '@asyncfl/privacy';
import { connectNats, provisionAssets } from '@asyncfl/transport';
import { startServer, startService, tempDir, type TestNatsServer } from './harness';

interface PrivacyReport {
  stopReason: string;
  versions: number;
  updatesApplied: number;
  privacy: { epsilon: number; delta: number; releases: number; epsilonBudget: number } | null;
  workerPrivacy: Record<string, { epsilon: number; delta: number }>;
}

/** Epsilon of `releases` unsampled Gaussian releases, as the aggregator accounts them. */
function userEpsilon(noiseMultiplier: number, releases: number, delta: number): number {
  const accountant = new RdpAccountant();
  accountant.addSampledGaussian(1, noiseMultiplier, releases);
  return accountant.getPrivacySpent(delta).epsilon;
}

/** Flags of a FedBuff aggregator with user-level DP over two ranks. */
function aggregatorArgs(url: string, job: string, report: string, epsilonBudget: number): string[] {
  return [
    ...['--nats', url, '--job', job, '--report', report, '--time-budget-s', '100'],
    ...['--rule', 'fedbuff', '--buffer-size', '2', '--server-lr', '0.1'],
    ...['--user-dp', '--user-dp-users', '2', '--user-dp-delta', '0.01'],
    ...['--user-dp-noise-multiplier', '5', '--user-dp-clip-norm', '1'],
    ...['--user-dp-epsilon-budget', String(epsilonBudget)],
  ];
}

describe('differential privacy', () => {
  let server: TestNatsServer;
  let nc: NatsConnection;
  let dir: string;

  before(async () => {
    server = await startServer();
    nc = await connectNats({ servers: [server.url], name: 'integration-test' });
    await provisionAssets(nc);
    dir = tempDir('privacy');
  });

  after(async () => {
    await nc?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('DP workers stop at their epsilon budget', async () => {
    const job = 'it-dp-workers';
    const report = join(dir, 'workers.json');
    // A budget far above what the workers can spend, so they stop first.
    const aggregator = startService('aggregator', aggregatorArgs(server.url, job, report, 50));
    // 8,000 training digits over 2 ranks: q = 32 / 4000 per step. Epsilon 0.62 at delta 1e-4
    // with sigma 1.1 allows about 55 steps, 11 updates of 5 local steps.
    const workerArgs = (rank: number) => [
      ...['--nats', server.url, '--job', job, '--world', '2', '--count', '1'],
      ...['--rank', String(rank), '--batch-size', '32', '--local-steps', '5'],
      ...['--dp', '--dp-noise-multiplier', '1.1', '--dp-clip-norm', '1'],
      ...['--dp-delta', '1e-4', '--dp-epsilon-budget', '0.62'],
    ];
    const workers = [startService('worker', workerArgs(0)), startService('worker', workerArgs(1))];
    const spentByRank = new Map<string, number>();
    try {
      for (const [rank, worker] of workers.entries()) {
        assert.equal(await worker.exited, 0, worker.output.slice(-3000));
        const lines = worker.logLines();
        const stopped = lines.find((l) => l.msg === 'worker stopped');
        assert.equal(stopped?.exit, 'budget', worker.output.slice(-3000));
        const reached = lines.find(
          (l) => l.msg === 'next DP-SGD step would exceed the epsilon budget; worker exiting'
        );
        assert.ok(reached, worker.output.slice(-3000));
        const epsilon = reached['epsilon'] as number;
        const steps = reached['dpSteps'] as number;
        assert.ok(epsilon > 0.5, `epsilon ${epsilon}`);
        assert.ok(epsilon <= 0.62, `epsilon ${epsilon}`);
        spentByRank.set(String(rank), epsilon);
        assert.ok(steps > 20, `only ${steps} DP-SGD steps`);
        // The accountant's record: one more step would have crossed the budget.
        const next = new RdpAccountant();
        next.addSampledGaussian(32 / 4000, 1.1, steps + 1);
        assert.ok(next.getPrivacySpent(1e-4).epsilon > 0.62);
        assert.ok(
          lines.some(
            (l) =>
              l.msg === 'DP-SGD on: Poisson-sampled batches, per-example clipping, Gaussian noise'
          )
        );
      }

      aggregator.kill('SIGTERM');
      assert.equal(await aggregator.exited, 0, aggregator.output.slice(-3000));
      const run = JSON.parse(readFileSync(report, 'utf8')) as PrivacyReport;
      assert.ok(run.updatesApplied > 0, JSON.stringify(run));
      assert.ok(run.privacy !== null);
      assert.equal(run.privacy.releases, run.versions);
      assert.equal(run.privacy.epsilon, userEpsilon(5, run.versions, 0.01));
      // Each update carries the worker's epsilon after it, so the newest is at most the total.
      for (const [rank, spent] of spentByRank) {
        const reported = run.workerPrivacy[rank];
        assert.ok(reported !== undefined, `rank ${rank}: ${JSON.stringify(run.workerPrivacy)}`);
        assert.equal(reported.delta, 1e-4);
        assert.ok(reported.epsilon > 0.5, `rank ${rank}: epsilon ${reported.epsilon}`);
        assert.ok(reported.epsilon <= spent, `rank ${rank}: ${reported.epsilon} > ${spent}`);
      }
    } finally {
      aggregator.kill();
      for (const worker of workers) worker.kill();
      await Promise.all([aggregator.exited, ...workers.map((w) => w.exited)]);
    }
  });

  test('aggregator stops at its user-level budget', async () => {
    const job = 'it-dp-aggregator';
    const report = join(dir, 'aggregator.json');
    // Sigma 5 at delta 0.01: about 5 flushes fit in epsilon 1.
    const aggregator = startService('aggregator', aggregatorArgs(server.url, job, report, 1));
    const workerArgs = (rank: number) => [
      ...['--nats', server.url, '--job', job, '--world', '2', '--count', '1'],
      ...['--rank', String(rank), '--local-steps', '2'],
    ];
    const workers = [startService('worker', workerArgs(0)), startService('worker', workerArgs(1))];
    try {
      assert.equal(await aggregator.exited, 0, aggregator.output.slice(-3000));
      const run = JSON.parse(readFileSync(report, 'utf8')) as PrivacyReport;
      assert.equal(run.stopReason, 'privacy_budget', JSON.stringify(run));
      assert.ok(run.privacy !== null);
      assert.ok(run.versions >= 1, JSON.stringify(run));
      assert.ok(run.privacy.epsilon <= 1, `epsilon ${run.privacy.epsilon}`);
      assert.ok(userEpsilon(5, run.versions + 1, 0.01) > 1, 'one more flush would fit the budget');
      const logged = aggregator.logLines().find((l) => l.msg === 'evaluated the global model');
      assert.equal(typeof logged?.['epsilon'], 'number', aggregator.output.slice(-3000));

      for (const worker of workers) {
        assert.equal(await worker.exited, 0, worker.output.slice(-3000));
        const stopped = worker.logLines().find((l) => l.msg === 'worker stopped');
        assert.equal(stopped?.exit, 'final', worker.output.slice(-3000));
      }
    } finally {
      aggregator.kill();
      for (const worker of workers) worker.kill();
      await Promise.all([aggregator.exited, ...workers.map((w) => w.exited)]);
    }
  });
});
