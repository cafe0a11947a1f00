import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, checkExampleDelta, loadAggregatorConfig, loadWorkerConfig } from './index';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return [...err.problems];
  }
  return assert.fail('expected a ConfigError');
}

describe('worker privacy settings', () => {
  test('are off by default', () => {
    const config = loadWorkerConfig({ args: [], env: {} });
    assert.equal(config.privacy.enabled, false);
    assert.equal(config.privacy.noiseMultiplier, 1.1);
    assert.equal(config.privacy.delta, 1e-5);
  });

  test('load from flags and variables', () => {
    const config = loadWorkerConfig({
      args: ['--dp', '--dp-clip-norm', '0.5', '--dp-epsilon-budget', '8'],
      env: { FL_DP_NOISE_MULTIPLIER: '0.9', FL_DP_DELTA: '1e-6' },
    });
    assert.equal(config.privacy.enabled, true);
    assert.equal(config.privacy.clipNorm, 0.5);
    assert.equal(config.privacy.noiseMultiplier, 0.9);
    assert.equal(config.privacy.delta, 1e-6);
    assert.equal(config.privacy.epsilonBudget, 8);
  });

  test('reject sigma 0 with DP', () => {
    const problems = problemsOf(() =>
      loadWorkerConfig({ args: ['--dp', '--dp-noise-multiplier', '0'], env: {} })
    );
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /--dp-noise-multiplier.*must be > 0/);
  });

  test('reject a zero clip norm', () => {
    const problems = problemsOf(() =>
      loadWorkerConfig({ args: ['--dp', '--dp-clip-norm', '0'], env: {} })
    );
    assert.ok(
      problems.some((problem) => /--dp-clip-norm.*> 0/.test(problem)),
      problems.join()
    );
  });

  test('reject delta outside (0, 1)', () => {
    for (const delta of ['0', '1', '2']) {
      const problems = problemsOf(() =>
        loadWorkerConfig({ args: ['--dp', '--dp-delta', delta], env: {} })
      );
      assert.match(problems[0]!, /--dp-delta.*\(0, 1\)/);
    }
  });

  test('ignore sigma 0 without DP', () => {
    const config = loadWorkerConfig({ args: ['--dp-noise-multiplier', '0'], env: {} });
    assert.equal(config.privacy.enabled, false);
  });
});

describe('checkExampleDelta', () => {
  const privacy = { enabled: true, clipNorm: 1, noiseMultiplier: 1, delta: 1e-3, epsilonBudget: 0 };

  test('accepts delta below one over the shard size', () => {
    assert.doesNotThrow(() => checkExampleDelta(privacy, 999));
  });

  test('rejects delta at or above one over the shard size', () => {
    for (const shardSize of [1000, 2000]) {
      const problems = problemsOf(() => checkExampleDelta(privacy, shardSize));
      assert.match(problems[0]!, new RegExp(`below 1/${shardSize}`));
    }
  });

  test('ignores delta without DP', () => {
    assert.doesNotThrow(() => checkExampleDelta({ ...privacy, enabled: false }, 2000));
  });
});

describe('aggregator user-level privacy settings', () => {
  /** Flags of a valid user-level DP setup, with `overrides` replacing or adding flags. */
  const args = (overrides: Record<string, string> = {}): string[] => {
    const flags: Record<string, string> = {
      '--rule': 'fedbuff',
      '--user-dp-users': '10',
      '--user-dp-delta': '0.01',
      ...overrides,
    };
    return ['--user-dp', ...Object.entries(flags).flat()];
  };

  test('load when valid', () => {
    const config = loadAggregatorConfig({ args: args(), env: {} });
    assert.equal(config.privacy.enabled, true);
    assert.equal(config.privacy.users, 10);
    assert.equal(config.privacy.noiseMultiplier, 1);
  });

  test('require the fedbuff rule', () => {
    const problems = problemsOf(() =>
      loadAggregatorConfig({ args: args({ '--rule': 'fedasync' }), env: {} })
    );
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /--rule\) fedbuff/);
  });

  test('require equal example weighting', () => {
    const problems = problemsOf(() =>
      loadAggregatorConfig({ args: args({ '--example-weighting': 'linear' }), env: {} })
    );
    assert.match(problems[0]!, /--example-weighting\) equal/);
  });

  test('require the number of users', () => {
    const problems = problemsOf(() =>
      loadAggregatorConfig({ args: ['--rule', 'fedbuff', '--user-dp'], env: {} })
    );
    assert.match(problems[0]!, /--user-dp-users\) is required/);
  });

  test('reject delta at one over the users', () => {
    const problems = problemsOf(() =>
      loadAggregatorConfig({ args: args({ '--user-dp-delta': '0.1' }), env: {} })
    );
    assert.match(problems[0]!, /--user-dp-delta\) must be in \(0, 1\/10\)/);
  });

  test('reject sigma 0', () => {
    const problems = problemsOf(() =>
      loadAggregatorConfig({ args: args({ '--user-dp-noise-multiplier': '0' }), env: {} })
    );
    assert.match(problems[0]!, /--user-dp-noise-multiplier.*must be > 0/);
  });

  test('are off by default', () => {
    const config = loadAggregatorConfig({ args: [], env: {} });
    assert.equal(config.privacy.enabled, false);
  });
});
