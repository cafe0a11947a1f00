import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkDir } from './deploy-check';
import type { Manifest } from './deploy-validation';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'asyncfl-credentials-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function runCredentials(args: string[]) {
  return spawnSync(
    process.execPath,
    ['--import', 'tsx', join(root, 'scripts/credentials.ts'), ...args],
    { cwd: root, encoding: 'utf8' }
  );
}

function named(manifests: readonly Manifest[], kind: string, name: string): Manifest {
  const found = manifests.find(
    (m) => m.kind === kind && (m.metadata as { name?: string } | undefined)?.name === name
  );
  assert.ok(found, `${kind}/${name} is not rendered`);
  return found;
}

test('invalid arguments are rejected', () => {
  const result = runCredentials(['--world', '0', '--job', 'mnist', '--out', join(dir, 'bad')]);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /--world must be an integer from 1/);
  const missing = runCredentials(['--world', '2']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--world, --job and --out are required/);
});

test('existing credentials need --force', () => {
  const out = join(dir, 'again');
  const args = ['--world', '1', '--job', 'mnist', '--out', out];
  assert.equal(runCredentials(args).status, 0);
  const first = readFileSync(join(out, 'nkeys', 'worker-0.nk'), 'utf8');
  const refused = runCredentials(args);
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /pass --force/);
  assert.equal(readFileSync(join(out, 'nkeys', 'worker-0.nk'), 'utf8'), first);
  assert.equal(runCredentials([...args, '--force']).status, 0);
  assert.notEqual(readFileSync(join(out, 'nkeys', 'worker-0.nk'), 'utf8'), first);
});

test('secure deploy example renders', () => {
  // A copy of deploy/, so the generated seeds never land in the working tree.
  const deploy = join(dir, 'deploy');
  cpSync(join(root, 'deploy'), deploy, {
    recursive: true,
    filter: (source) => !source.includes(join('secure', 'generated')),
  });
  const generated = join(deploy, 'secure', 'generated');
  const result = runCredentials(['--world', '8', '--job', 'mnist', '--out', generated]);
  assert.equal(result.status, 0, result.stderr);
  assert.ok(!/SU[A-Z2-7]{56}/.test(result.stdout), 'the command printed a seed');

  const { manifests, problems } = checkDir(join(deploy, 'secure'));
  // The server certificate comes from outside the repository (cert-manager or an operator).
  const external = problems.filter((p) => p.includes('Secret nats-server-tls'));
  assert.deepEqual(
    problems.filter((p) => !external.includes(p)),
    []
  );
  assert.equal(external.length, 3);

  const workerSecret = named(manifests, 'Secret', 'asyncfl-nats-workers');
  const keys = Object.keys((workerSecret.data as Record<string, string>) ?? {}).sort();
  assert.deepEqual(
    keys,
    Array.from({ length: 8 }, (_, rank) => `worker-${rank}.nk`)
  );
  const seed = readFileSync(join(generated, 'nkeys', 'worker-5.nk'), 'utf8');
  assert.equal(
    Buffer.from((workerSecret.data as Record<string, string>)['worker-5.nk']!, 'base64').toString(),
    seed
  );
  named(manifests, 'Secret', 'asyncfl-nats-aggregator');
  named(manifests, 'Secret', 'asyncfl-nats-worker-7');

  const auth = named(manifests, 'ConfigMap', 'nats-auth');
  const authConf = (auth.data as Record<string, string>)['auth.conf']!;
  assert.ok(authConf.includes('"fl.mnist.update.7"'));
  assert.ok(!/SU[A-Z2-7]{56}/.test(authConf), 'a seed is in the ConfigMap');

  const rendered = JSON.stringify(named(manifests, 'Deployment', 'aggregator'));
  assert.ok(rendered.includes('/var/run/asyncfl/nats/nkey'));
  const workers = JSON.stringify(named(manifests, 'StatefulSet', 'worker'));
  assert.ok(workers.includes('worker-{rank}.nk'));
  const natsConfig = (named(manifests, 'ConfigMap', 'nats-config').data as Record<string, string>)[
    'nats.conf'
  ]!;
  assert.ok(natsConfig.includes('include "auth/auth.conf"'));
});
