import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadAggregatorConfig, loadWorkerConfig, workerHelp } from './index';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return [...err.problems];
  }
  return assert.fail('expected a ConfigError');
}

test('worker defaults load', () => {
  const config = loadWorkerConfig({ args: [], env: {} });
  assert.equal(config.rank, 0);
  assert.equal(config.count, 1);
  assert.deepEqual(config.nats.servers, ['nats://127.0.0.1:4222']);
});

test('worker flags override environment', () => {
  const config = loadWorkerConfig({
    args: [
      '--rank',
      '4',
      '--count',
      '4',
      '--world',
      '8',
      '--id',
      'hostA',
      '--nats',
      'nats://a:1,nats://b:2',
    ],
    env: { FL_RANK: '2', FL_LOCAL_STEPS: '3' },
  });
  assert.equal(config.rank, 4);
  assert.equal(config.count, 4);
  assert.equal(config.world, 8);
  assert.equal(config.id, 'hostA');
  assert.equal(config.training.localSteps, 3);
  assert.deepEqual(config.nats.servers, ['nats://a:1', 'nats://b:2']);
});

test('rank plus count above world is rejected naming the flags', () => {
  const problems = problemsOf(() =>
    loadWorkerConfig({ args: ['--rank', '6', '--count', '4', '--world', '8'], env: {} })
  );
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /--rank 6 with --count 4 needs ranks 6\.\.9, but --world 8/);
});

test('negative rank is rejected naming flag and value', () => {
  const problems = problemsOf(() => loadWorkerConfig({ args: ['--rank', '-1'], env: {} }));
  assert.ok(
    problems.some((p) => p.includes('--rank') && p.includes('-1')),
    problems.join('\n')
  );
});

test('world above the uint32 rank range is rejected', () => {
  const problems = problemsOf(() =>
    loadWorkerConfig({ args: ['--rank', '4294967296', '--world', '4294967297'], env: {} })
  );
  assert.ok(
    problems.some((p) => p.startsWith('--world must be at most 2^32')),
    problems.join('; ')
  );
});

test('zero world and zero count are rejected', () => {
  const problems = problemsOf(() =>
    loadWorkerConfig({ args: ['--world', '0', '--count', '0'], env: {} })
  );
  assert.ok(problems.some((p) => p.startsWith('--world must be >= 1 (got 0)')));
  assert.ok(problems.some((p) => p.startsWith('--count must be >= 1 (got 0)')));
});

test('unknown flag is rejected', () => {
  const problems = problemsOf(() => loadWorkerConfig({ args: ['--ranks', '1'], env: {} }));
  assert.match(problems[0]!, /unknown flag --ranks/);
});

test('bad server URL is rejected', () => {
  const problems = problemsOf(() => loadWorkerConfig({ args: ['--nats', 'http://x y'], env: {} }));
  assert.ok(
    problems.some((p) => p.includes('--nats') && p.includes('http://x y')),
    problems.join('\n')
  );
});

test('aggregator rejects bad alpha and rule from environment', () => {
  const problems = problemsOf(() =>
    loadAggregatorConfig({ args: [], env: { FL_ALPHA: '1.5', FL_RULE: 'fedavg' } })
  );
  assert.ok(
    problems.some((p) => p.includes('$FL_ALPHA') && p.includes('1.5')),
    problems.join('\n')
  );
  assert.ok(
    problems.some((p) => p.includes('$FL_RULE') && p.includes('fedavg')),
    problems.join('\n')
  );
});

test('aggregator rejects ack wait shorter than the snapshot interval', () => {
  const problems = problemsOf(() =>
    loadAggregatorConfig({
      args: ['--ack-wait-ms', '500', '--snapshot-interval-ms', '1000'],
      env: {},
    })
  );
  assert.match(problems[0]!, /must exceed 'snapshot.intervalMs'/);
});

test('eval-every 0 rejects a target', () => {
  const config = loadAggregatorConfig({
    args: ['--eval-every', '0', '--record-weights', '/tmp/versions.bin'],
    env: {},
  });
  assert.equal(config.evaluation.every, 0);
  assert.equal(config.evaluation.recordWeights, '/tmp/versions.bin');
  assert.equal(loadAggregatorConfig({ args: [], env: {} }).evaluation.recordWeights, '');

  const problems = problemsOf(() =>
    loadAggregatorConfig({ args: ['--eval-every', '0', '--target-accuracy', '0.9'], env: {} })
  );
  assert.equal(problems.length, 1, problems.join('\n'));
  assert.match(problems[0]!, /'stop.targetAccuracy' \(--target-accuracy\) is 0.9/);
  assert.match(problems[0]!, /--eval-every to 1 or more/);
});

test('aggregator pull size defaults to 16 MiB and rejects tiny values', () => {
  assert.equal(loadAggregatorConfig({ args: [], env: {} }).consumer.pullMaxBytes, 16 * 1024 * 1024);
  const problems = problemsOf(() =>
    loadAggregatorConfig({ args: [], env: { FL_PULL_MAX_BYTES: '512' } })
  );
  assert.equal(problems.length, 1, problems.join('\n'));
  assert.match(
    problems[0]!,
    /'consumer.pullMaxBytes' \(--pull-max-bytes\) must be at least 1024.*got 512/
  );
});

test('config file is read and unknown keys in it are rejected', () => {
  const dir = mkdtempSync(join(tmpdir(), 'asyncfl-config-'));
  try {
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ rule: { kind: 'fedbuff', bufferSize: 4 } }));
    const config = loadAggregatorConfig({ args: ['--config', good], env: {} });
    assert.equal(config.rule.kind, 'fedbuff');
    assert.equal(config.rule.bufferSize, 4);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ rule: { kindd: 'fedbuff' } }));
    const problems = problemsOf(() => loadAggregatorConfig({ args: ['--config', bad], env: {} }));
    assert.ok(
      problems.some((p) => p.includes('rule.kindd')),
      problems.join('\n')
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('missing config file is reported', () => {
  const problems = problemsOf(() =>
    loadAggregatorConfig({ args: ['--config', '/nonexistent.json'], env: {} })
  );
  assert.match(problems[0]!, /does not exist/);
});

test('help lists every flag with its variable', () => {
  const help = workerHelp();
  assert.match(help, /--rank/);
  assert.match(help, /FL_WORLD/);
});

test('aggregator HTTP settings default and override', () => {
  const defaults = loadAggregatorConfig({ args: [], env: {} });
  assert.equal(defaults.http.port, 9464);
  assert.equal(defaults.http.host, '127.0.0.1');
  const fromEnv = loadAggregatorConfig({ args: [], env: { FL_HTTP_PORT: '0' } });
  assert.equal(fromEnv.http.port, 0);
  const fromFlags = loadAggregatorConfig({
    args: ['--http-port', '8080', '--http-host', '0.0.0.0'],
    env: { FL_HTTP_PORT: '0' },
  });
  assert.equal(fromFlags.http.port, 8080);
  assert.equal(fromFlags.http.host, '0.0.0.0');
});

test('aggregator HTTP port out of range is rejected', () => {
  const problems = problemsOf(() =>
    loadAggregatorConfig({ args: ['--http-port', '70000'], env: {} })
  );
  assert.ok(
    problems.some((p) => p.includes('--http-port') && p.includes('70000')),
    problems.join('\n')
  );
});

test('aggregator empty HTTP host is rejected', () => {
  const problems = problemsOf(() => loadAggregatorConfig({ args: [], env: { FL_HTTP_HOST: ' ' } }));
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /'http\.host' \(--http-host\) is empty/);
});

test('model names include the CNNs', () => {
  for (const name of ['mlp', 'lenet', 'cifar-cnn']) {
    assert.equal(loadWorkerConfig({ args: ['--model', name], env: {} }).model.name, name);
    assert.equal(loadAggregatorConfig({ args: [], env: { FL_MODEL: name } }).model.name, name);
  }
  const problems = problemsOf(() => loadWorkerConfig({ args: ['--model', 'resnet'], env: {} }));
  assert.ok(
    problems.some((p) => p.includes('model.name') && p.includes('resnet')),
    problems.join('\n')
  );
});

test('partition options load from flags', () => {
  const defaults = loadWorkerConfig({ args: [], env: {} });
  assert.equal(defaults.partition, 'iid');
  assert.equal(defaults.partitionOptions.concentration, 0.5);
  assert.equal(defaults.partitionOptions.classesPerWorker, 2);
  const dirichlet = loadWorkerConfig({
    args: ['--partition', 'dirichlet', '--dirichlet-concentration', '0.1'],
    env: {},
  });
  assert.equal(dirichlet.partition, 'dirichlet');
  assert.equal(dirichlet.partitionOptions.concentration, 0.1);
  const shards = loadWorkerConfig({
    args: ['--partition', 'shards'],
    env: { FL_CLASSES_PER_WORKER: '3' },
  });
  assert.equal(shards.partition, 'shards');
  assert.equal(shards.partitionOptions.classesPerWorker, 3);
});

test('invalid partition options are rejected', () => {
  const concentration = problemsOf(() =>
    loadWorkerConfig({ args: ['--dirichlet-concentration', '0'], env: {} })
  );
  assert.ok(
    concentration.some((p) => p.includes('partitionOptions.concentration')),
    concentration.join('\n')
  );
  const classes = problemsOf(() =>
    loadWorkerConfig({ args: ['--classes-per-worker', '0'], env: {} })
  );
  assert.ok(
    classes.some((p) => p.includes('--classes-per-worker') && p.includes('0')),
    classes.join('\n')
  );
});

test('cifar10 source needs a data dir', () => {
  const problems = problemsOf(() =>
    loadWorkerConfig({ args: ['--data-source', 'cifar10'], env: {} })
  );
  assert.ok(
    problems.some((p) => p.includes('--data-dir') && p.includes('cifar10')),
    problems.join('\n')
  );
  const config = loadAggregatorConfig({
    args: ['--data-source', 'cifar10', '--data-dir', '/data/cifar'],
    env: {},
  });
  assert.equal(config.data.source, 'cifar10');
  assert.equal(config.data.dir, '/data/cifar');
});

test('compression and simulation settings default off', () => {
  const config = loadWorkerConfig({ args: [], env: {} });
  assert.equal(config.compression.kind, 'float32');
  assert.equal(config.compression.topkFraction, 0.01);
  assert.equal(config.compression.errorFeedback, true);
  assert.equal(config.training.stepDelayMs, 0);
  assert.equal(config.training.leaveAfterS, 0);
});

test('compression and simulation settings load from flags', () => {
  const config = loadWorkerConfig({
    args: [
      '--compression',
      'topk',
      '--topk-fraction',
      '0.05',
      '--error-feedback',
      'false',
      '--step-delay-ms',
      '30',
      '--leave-after-s',
      '12.5',
    ],
    env: {},
  });
  assert.equal(config.compression.kind, 'topk');
  assert.equal(config.compression.topkFraction, 0.05);
  assert.equal(config.compression.errorFeedback, false);
  assert.equal(config.training.stepDelayMs, 30);
  assert.equal(config.training.leaveAfterS, 12.5);
});

test('invalid compression settings are rejected', () => {
  const kind = problemsOf(() => loadWorkerConfig({ args: ['--compression', 'zip'], env: {} }));
  assert.ok(
    kind.some((p) => p.includes('--compression') && p.includes('zip')),
    kind.join('\n')
  );
  for (const fraction of ['0', '1.5']) {
    const problems = problemsOf(() =>
      loadWorkerConfig({ args: ['--topk-fraction', fraction], env: {} })
    );
    assert.ok(
      problems.some((p) => p.includes('--topk-fraction') && p.includes(fraction)),
      problems.join('\n')
    );
  }
  const delay = problemsOf(() => loadWorkerConfig({ args: ['--step-delay-ms', '-1'], env: {} }));
  assert.ok(
    delay.some((p) => p.includes('--step-delay-ms')),
    delay.join('\n')
  );
});
