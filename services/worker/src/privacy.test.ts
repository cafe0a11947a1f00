import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import { ConfigError, loadWorkerConfig } from '@asyncfl/config';
import { RdpAccountant } from '@asyncfl/privacy';
import { WorkerPrivacy } from './privacy';
import { Worker } from './worker';

const PRIVACY = { enabled: true, clipNorm: 1, noiseMultiplier: 1.1, delta: 1e-5, epsilonBudget: 0 };

describe('WorkerPrivacy', () => {
  test('accounts Poisson sampling at batch over shard size', () => {
    const privacy = new WorkerPrivacy(PRIVACY, 32, 800);
    assert.equal(privacy.samplingRate, 0.04);
    privacy.record(5);
    privacy.record(7);
    const reference = new RdpAccountant();
    reference.addSampledGaussian(0.04, 1.1, 12);
    assert.equal(privacy.steps, 12);
    assert.equal(privacy.spent().epsilon, reference.getPrivacySpent(1e-5).epsilon);
  });

  test('allows every step without a budget', () => {
    const privacy = new WorkerPrivacy(PRIVACY, 32, 800);
    privacy.record(100_000);
    assert.equal(privacy.affordableSteps(5), 5);
  });

  test('stops before a step would exceed the budget', () => {
    const privacy = new WorkerPrivacy({ ...PRIVACY, epsilonBudget: 2 }, 32, 800);
    let steps = 0;
    for (;;) {
      const allowed = privacy.affordableSteps(10);
      if (allowed === 0) break;
      privacy.record(allowed);
      steps += allowed;
      assert.ok(privacy.spent().epsilon <= 2, `epsilon ${privacy.spent().epsilon}`);
    }
    // One more step would have crossed the budget.
    const reference = new RdpAccountant();
    reference.addSampledGaussian(0.04, 1.1, steps + 1);
    assert.ok(reference.getPrivacySpent(1e-5).epsilon > 2);
    assert.ok(steps > 10, `only ${steps} steps fit`);
  });

  test('returns a partial count near the budget', () => {
    const privacy = new WorkerPrivacy({ ...PRIVACY, epsilonBudget: 2 }, 32, 800);
    while (privacy.affordableSteps(1) === 1) privacy.record(1);
    const steps = privacy.steps;
    const fresh = new WorkerPrivacy({ ...PRIVACY, epsilonBudget: 2 }, 32, 800);
    fresh.record(steps - 3);
    assert.equal(fresh.affordableSteps(10), 3);
  });
});

describe('Worker start with DP', () => {
  test('rejects delta at one over the shard size before connecting', async () => {
    // 8,000 training digits over 10 ranks: 800 per shard, so delta must be below 1/800.
    const config = loadWorkerConfig({
      args: ['--dp', '--dp-delta', '0.002', '--world', '10', '--nats', 'nats://127.0.0.1:1'],
      env: {},
    });
    const worker = new Worker(config, 0, pino({ level: 'silent' }));
    try {
      await assert.rejects(worker.start(), (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.match(error.message, /--dp-delta\) 0\.002 must be below 1\/800/);
        return true;
      });
    } finally {
      await worker.close();
    }
  });
});
