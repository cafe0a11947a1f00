// How the suite chooses between a testcontainers container and a nats-server process. Fake
// Docker engines are small HTTP servers on 127.0.0.1; the container path itself needs a real
// engine and is not run here.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jetstreamManager } from '@nats-io/jetstream';
import { connectNats, freePort } from '@asyncfl/transport';
import { chooseBackend, probeDocker, startTestNatsServer } from './nats-backend';

/** Starts an HTTP server on 127.0.0.1 that responds to /_ping with the given status and body. */
async function fakeEngine(status: number, body: string): Promise<Server> {
  const server = createServer((req, res) => {
    res.writeHead(req.url === '/_ping' ? status : 404, { 'Content-Type': 'text/plain' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function dockerHostOf(server: Server): string {
  return `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('NATS backend selection', () => {
  let closedPort: number;
  let healthy: Server;
  let failing: Server;

  before(async () => {
    // Nothing listens on a port that was free a moment ago.
    closedPort = await freePort();
    healthy = await fakeEngine(200, 'OK');
    failing = await fakeEngine(500, 'engine down');
  });

  after(() => {
    healthy?.close();
    failing?.close();
  });

  test('closed DOCKER_HOST port is unreachable', async () => {
    const probe = await probeDocker({ DOCKER_HOST: `tcp://127.0.0.1:${closedPort}` });
    assert.equal(probe.reachable, false);
    assert.equal(probe.endpoint, `tcp://127.0.0.1:${closedPort}`);
    assert.match(probe.reason, /ECONNREFUSED/);
  });

  test('missing unix socket is unreachable', async () => {
    const probe = await probeDocker({ DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    assert.equal(probe.reachable, false);
    assert.match(probe.reason, /\/nonexistent\/docker\.sock does not exist/);
  });

  test('unsupported DOCKER_HOST scheme is unreachable', async () => {
    const probe = await probeDocker({ DOCKER_HOST: 'ssh://user@host' });
    assert.equal(probe.reachable, false);
    assert.match(probe.reason, /neither unix:\/\/ nor tcp:\/\//);
  });

  test('engine answering OK is reachable', async () => {
    const probe = await probeDocker({ DOCKER_HOST: dockerHostOf(healthy) });
    assert.equal(probe.reachable, true);
    assert.equal(probe.reason, 'answered /_ping');
  });

  test('engine answering an error is unreachable', async () => {
    const probe = await probeDocker({ DOCKER_HOST: dockerHostOf(failing) });
    assert.equal(probe.reachable, false);
    assert.match(probe.reason, /HTTP 500/);
  });

  test('reachable engine selects testcontainers', async () => {
    const choice = await chooseBackend({ DOCKER_HOST: dockerHostOf(healthy) });
    assert.equal(choice.backend, 'testcontainers');
  });

  test('forced process skips the probe', async () => {
    const choice = await chooseBackend({
      DOCKER_HOST: dockerHostOf(healthy),
      ASYNCFL_NATS_BACKEND: 'process',
    });
    assert.equal(choice.backend, 'process');
  });

  test('forced testcontainers without engine fails', async () => {
    await assert.rejects(
      chooseBackend({
        DOCKER_HOST: `tcp://127.0.0.1:${closedPort}`,
        ASYNCFL_NATS_BACKEND: 'testcontainers',
      }),
      /ASYNCFL_NATS_BACKEND=testcontainers, but no Docker engine is reachable: .*ECONNREFUSED/
    );
  });

  test('invalid backend name is rejected', async () => {
    await assert.rejects(
      chooseBackend({ ASYNCFL_NATS_BACKEND: 'podman' }),
      /ASYNCFL_NATS_BACKEND is "podman"; expected auto, process or testcontainers/
    );
  });

  test('unreachable engine falls back to a process', async () => {
    const server = await startTestNatsServer({ DOCKER_HOST: `tcp://127.0.0.1:${closedPort}` });
    try {
      assert.equal(server.backend, 'process');
      assert.match(server.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
      const nc = await connectNats({ servers: [server.url], name: 'backend-test' });
      try {
        const info = await (await jetstreamManager(nc)).getAccountInfo();
        assert.equal(info.streams, 0);
      } finally {
        await nc.close();
      }
    } finally {
      await server.stop();
    }
  });
});
