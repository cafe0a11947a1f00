import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadAggregatorConfig } from '@asyncfl/config';
import { RdpAccountant } from '@asyncfl/privacy';
import { ruleConfigOf } from './aggregator';
import { AggregatorMetrics } from './metrics';
import { UserPrivacyAccountant } from './privacy';
import type { AggregatorStatus } from './status';

const PRIVACY = {
  enabled: true,
  clipNorm: 0.5,
  noiseMultiplier: 2,
  delta: 1e-3,
  epsilonBudget: 0,
  users: 10,
};

describe('UserPrivacyAccountant', () => {
  test('counts each version as an unsampled Gaussian release', () => {
    const accountant = new UserPrivacyAccountant(PRIVACY);
    const reference = new RdpAccountant();
    reference.addSampledGaussian(1, 2, 25);
    const status = accountant.statusAt(25);
    assert.equal(status.epsilon, reference.getPrivacySpent(1e-3).epsilon);
    assert.equal(status.releases, 25);
    assert.equal(status.delta, 1e-3);
    assert.equal(accountant.statusAt(0).epsilon, 0);
  });

  test('matches the closed form of the Gaussian mechanism', () => {
    // T releases with sigma 2 have RDP T alpha / 8 at every order alpha. Minimize the balle2020
    // conversion of that over a fine grid of orders, independently of the accountant.
    const releases = 100;
    let best = Infinity;
    for (let alpha = 1.001; alpha < 200; alpha += 0.001) {
      const epsilon =
        (releases * alpha) / 8 +
        Math.log1p(-1 / alpha) -
        (Math.log(1e-3) + Math.log(alpha)) / (alpha - 1);
      best = Math.min(best, epsilon);
    }
    const epsilon = new UserPrivacyAccountant(PRIVACY).statusAt(releases).epsilon;
    // The accountant's coarser grid of orders can only give a larger epsilon.
    assert.ok(epsilon >= best - 1e-9, `epsilon ${epsilon} below the minimum ${best}`);
    assert.ok(epsilon < best + 0.05, `epsilon ${epsilon} far above the minimum ${best}`);
  });

  test('reports when a version would exceed the budget', () => {
    const accountant = new UserPrivacyAccountant({ ...PRIVACY, epsilonBudget: 5 });
    let version = 0;
    while (!accountant.exceedsBudgetAt(version + 1)) version++;
    assert.ok(accountant.statusAt(version).epsilon <= 5);
    assert.ok(accountant.statusAt(version + 1).epsilon > 5);
    assert.equal(new UserPrivacyAccountant(PRIVACY).exceedsBudgetAt(1_000_000), false);
  });
});

describe('ruleConfigOf with user-level DP', () => {
  test('adds clipping and noise to FedBuff', () => {
    const config = loadAggregatorConfig({
      args: [
        '--rule',
        'fedbuff',
        '--user-dp',
        '--user-dp-users',
        '10',
        '--user-dp-delta',
        '0.01',
        '--user-dp-clip-norm',
        '0.25',
        '--user-dp-noise-multiplier',
        '1.5',
      ],
      env: {},
    });
    const rule = ruleConfigOf(config);
    assert.equal(rule.kind, 'fedbuff');
    assert.deepEqual(rule.clip, { maxNorm: 0.25 });
    assert.ok(rule.kind === 'fedbuff');
    assert.deepEqual(rule.noise, { noiseMultiplier: 1.5 });
  });

  test('adds nothing without DP', () => {
    const rule = ruleConfigOf(loadAggregatorConfig({ args: ['--rule', 'fedbuff'], env: {} }));
    assert.equal(rule.clip, undefined);
    assert.ok(rule.kind === 'fedbuff');
    assert.equal(rule.noise, undefined);
  });
});

describe('privacy metrics', () => {
  function sample(text: string, name: string): number | undefined {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? undefined : Number(line.slice(name.length + 1));
  }

  test('export epsilon and delta', async () => {
    const metrics = new AggregatorMetrics({ job: 'unit', processMetrics: false });
    const privacy = new UserPrivacyAccountant(PRIVACY).statusAt(7);
    metrics.bind(() => ({ job: 'unit', version: 7, privacy }) as unknown as AggregatorStatus);
    const text = await metrics.render();
    assert.equal(sample(text, 'asyncfl_privacy_epsilon'), privacy.epsilon);
    assert.equal(sample(text, 'asyncfl_privacy_delta'), 1e-3);
  });

  test('are NaN without DP', async () => {
    const metrics = new AggregatorMetrics({ job: 'unit', processMetrics: false });
    metrics.bind(() => ({ job: 'unit', version: 7, privacy: null }) as unknown as AggregatorStatus);
    const text = await metrics.render();
    assert.ok(Number.isNaN(sample(text, 'asyncfl_privacy_epsilon')));
  });
});
