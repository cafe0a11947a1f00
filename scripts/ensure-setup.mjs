#!/usr/bin/env node
// Prepares a fresh checkout before `npm start` and `npm test`: installs the npm packages when
// node_modules is missing or older than package-lock.json, and installs Debian's nats-server
// when it is missing and this user may run apt-get. Uses only Node's built-in modules.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// npm writes this file on every install; it is newer than package-lock.json when current.
const installed = `${root}node_modules/.package-lock.json`;

function run(command, args) {
  console.error(`setup: ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  return result.status === 0;
}

function packagesCurrent() {
  if (!existsSync(installed)) return false;
  return statSync(installed).mtimeMs >= statSync(`${root}package-lock.json`).mtimeMs;
}

function hasNatsServer() {
  if (process.env.NATS_SERVER_BIN) return existsSync(process.env.NATS_SERVER_BIN);
  const found = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' });
  if (found.status === 0 && found.stdout.trim()) return true;
  return ['/usr/sbin/nats-server', '/usr/bin/nats-server'].some((path) => existsSync(path));
}

if (!packagesCurrent()) {
  if (!run('npm', ['ci', '--no-audit', '--no-fund'])) {
    console.error('setup: npm ci failed; fix the error above and run the command again');
    process.exit(1);
  }
}

// npm start may be pointed at an existing server, which needs no local binary.
const usesRemoteServer = process.argv.includes('--remote') || process.env.NATS_URL !== undefined;
if (!hasNatsServer() && !usesRemoteServer) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    console.error(
      'setup: nats-server is not installed. Install it with `sudo apt-get install nats-server` ' +
        '(Debian and Ubuntu), or set NATS_SERVER_BIN to its path, then run the command again.'
    );
    process.exit(1);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args) => spawnSync('apt-get', args, { stdio: 'inherit', env }).status === 0;
  console.error('setup: installing nats-server with apt-get');
  if (!apt(['update']) || !apt(['install', '-y', '--no-install-recommends', 'nats-server'])) {
    console.error('setup: apt-get could not install nats-server; install it by hand and run again');
    process.exit(1);
  }
}
