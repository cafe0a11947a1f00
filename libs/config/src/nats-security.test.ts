import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, aggregatorHelp, loadAggregatorConfig, loadWorkerConfig } from './index';

const dir = mkdtempSync(join(tmpdir(), 'asyncfl-config-security-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return [...err.problems];
  }
  return assert.fail('expected a ConfigError');
}

test('credential settings default to unset', () => {
  const config = loadAggregatorConfig({ args: [], env: {} });
  assert.equal(config.nats.nkeySeedFile, '');
  assert.equal(config.nats.password, '');
  assert.equal(config.nats.inboxPrefix, '');
  assert.deepEqual(config.nats.tls, { caFile: '', certFile: '', keyFile: '' });
});

test('NKey file and TLS files load from variables', () => {
  const seed = join(dir, 'aggregator.nk');
  const ca = join(dir, 'ca.pem');
  writeFileSync(seed, 'seed');
  writeFileSync(ca, 'ca');
  const config = loadAggregatorConfig({
    args: [],
    env: { NATS_NKEY_FILE: seed, NATS_TLS_CA_FILE: ca },
  });
  assert.equal(config.nats.nkeySeedFile, seed);
  assert.equal(config.nats.tls.caFile, ca);
});

test('missing NKey file is named', () => {
  const path = join(dir, 'absent.nk');
  const problems = problemsOf(() =>
    loadAggregatorConfig({ args: ['--nats-nkey-file', path], env: {} })
  );
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /--nats-nkey-file/);
  assert.ok(problems[0]!.includes(path));
});

test('worker rank placeholder is checked per rank', () => {
  writeFileSync(join(dir, 'worker-0.nk'), 'seed');
  writeFileSync(join(dir, 'worker-1.nk'), 'seed');
  const pattern = join(dir, 'worker-{rank}.nk');
  const base = ['--world', '4', '--nats-nkey-file', pattern];
  const ok = loadWorkerConfig({ args: [...base, '--rank', '0', '--count', '2'], env: {} });
  assert.equal(ok.nats.nkeySeedFile, pattern);
  const problems = problemsOf(() =>
    loadWorkerConfig({ args: [...base, '--rank', '1', '--count', '2'], env: {} })
  );
  assert.equal(problems.length, 1);
  assert.ok(problems[0]!.includes(join(dir, 'worker-2.nk')));
});

test('two credential kinds are rejected', () => {
  const seed = join(dir, 'both.nk');
  writeFileSync(seed, 'seed');
  const problems = problemsOf(() =>
    loadAggregatorConfig({
      args: ['--nats-nkey-file', seed, '--nats-user', 'agg'],
      env: { NATS_PASSWORD: 'pw' },
    })
  );
  assert.ok(problems.some((p) => /one kind of NATS credentials/.test(p)));
});

test('user without password is rejected', () => {
  const problems = problemsOf(() =>
    loadAggregatorConfig({ args: ['--nats-user', 'agg'], env: {} })
  );
  assert.ok(problems.some((p) => /must be set together/.test(p)));
});

test('client certificate without key is rejected', () => {
  const cert = join(dir, 'client.pem');
  writeFileSync(cert, 'cert');
  const problems = problemsOf(() =>
    loadAggregatorConfig({ args: ['--nats-tls-cert', cert], env: {} })
  );
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /--nats-tls-key/);
});

test('password is absent from errors and help', () => {
  const secret = 'hunter2-do-not-print';
  const problems = problemsOf(() =>
    loadAggregatorConfig({ args: ['--alpha', '7'], env: { NATS_PASSWORD: secret } })
  );
  assert.ok(problems.length > 0);
  for (const problem of problems) assert.ok(!problem.includes(secret), problem);
  assert.match(aggregatorHelp(), /--nats-password/);
  assert.ok(!aggregatorHelp().includes(secret));
});
