// Where the integration suite gets its JetStream server: a container started with
// testcontainers when a Docker engine responds, otherwise a nats-server process on this
// machine. Both are reached the same way, through a client URL.
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { LocalNatsServer } from '@asyncfl/transport';

/** The official image, on the same 2.9 line as Debian's nats-server package (2.9.10). */
export const NATS_IMAGE = 'nats:2.9.10';

/** Default socket of the Docker engine on Linux. */
const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/** Time allowed for the Docker engine to respond to its ping, in ms. */
const PING_TIMEOUT_MS = 2_000;

export type NatsBackend = 'testcontainers' | 'process';

/** A JetStream-enabled server for one suite, whichever backend runs it. */
export interface TestNatsServer {
  /** Client URL, e.g. nats://127.0.0.1:41234. */
  readonly url: string;
  readonly backend: NatsBackend;
  /** Stops the server and removes its storage. */
  stop(): Promise<void>;
}

/** Result of probing for a Docker engine. */
export interface DockerProbe {
  readonly reachable: boolean;
  /** The socket path or URL that was tried; empty when there was nothing to try. */
  readonly endpoint: string;
  /** Reason the engine counts as unreachable, or `answered /_ping` when it is reachable. */
  readonly reason: string;
}

type PingTarget = { socketPath: string } | { host: string; port: number };

function pingTargetOf(env: NodeJS.ProcessEnv): {
  endpoint: string;
  target?: PingTarget;
  reason?: string;
} {
  const dockerHost = env.DOCKER_HOST;
  if (dockerHost === undefined || dockerHost === '') {
    if (!existsSync(DEFAULT_DOCKER_SOCKET)) {
      return {
        endpoint: '',
        reason: `DOCKER_HOST is unset and ${DEFAULT_DOCKER_SOCKET} does not exist`,
      };
    }
    return { endpoint: DEFAULT_DOCKER_SOCKET, target: { socketPath: DEFAULT_DOCKER_SOCKET } };
  }
  if (dockerHost.startsWith('unix://')) {
    const socketPath = dockerHost.slice('unix://'.length);
    if (!existsSync(socketPath))
      return { endpoint: dockerHost, reason: `${socketPath} does not exist` };
    return { endpoint: dockerHost, target: { socketPath } };
  }
  if (dockerHost.startsWith('tcp://')) {
    // NOTE: an engine behind TLS (DOCKER_TLS_VERIFY) accepts only HTTPS with client
    // certificates, which this probe does not send, so such an engine counts as unreachable.
    const url = new URL(`http://${dockerHost.slice('tcp://'.length)}`);
    return { endpoint: dockerHost, target: { host: url.hostname, port: Number(url.port || 2375) } };
  }
  return {
    endpoint: dockerHost,
    reason: `DOCKER_HOST ${dockerHost} is neither unix:// nor tcp://`,
  };
}

/**
 * Checks for a Docker engine by sending it `GET /_ping`, at DOCKER_HOST (unix:// or tcp://)
 * or at /var/run/docker.sock. The engine counts as reachable only when it responds 200 OK.
 * NOTE: Docker contexts, rootless sockets and ~/.testcontainers.properties, which
 * testcontainers itself reads, are not consulted; set DOCKER_HOST for those setups.
 */
export async function probeDocker(
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = PING_TIMEOUT_MS
): Promise<DockerProbe> {
  const { endpoint, target, reason } = pingTargetOf(env);
  if (target === undefined) return { reachable: false, endpoint, reason: reason ?? 'no endpoint' };
  return new Promise((resolve) => {
    const req = request({ ...target, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        if (res.statusCode === 200 && body.trim() === 'OK') {
          resolve({ reachable: true, endpoint, reason: 'answered /_ping' });
        } else {
          resolve({
            reachable: false,
            endpoint,
            reason: `/_ping returned HTTP ${res.statusCode} ${JSON.stringify(body.slice(0, 80))}`,
          });
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no response within ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ reachable: false, endpoint, reason: err.message }));
    req.end();
  });
}

/**
 * Starts the official NATS image with JetStream. testcontainers is imported only here, so
 * machines without Docker never load it.
 * NOTE: this path has not run in this repository's CI, which has no Docker engine; the
 * process path is the one exercised there.
 */
async function startContainer(): Promise<TestNatsServer> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer(NATS_IMAGE)
    .withCommand(['-js'])
    .withExposedPorts(4222)
    .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
    .start();
  const url = `nats://${container.getHost()}:${container.getMappedPort(4222)}`;
  return {
    url,
    backend: 'testcontainers',
    stop: async () => {
      await container.stop();
    },
  };
}

async function startProcess(): Promise<TestNatsServer> {
  const server = await LocalNatsServer.start();
  return { url: server.url, backend: 'process', stop: () => server.stop() };
}

/** Chosen backend and the reason, for the suite's log. */
export interface BackendChoice {
  readonly backend: NatsBackend;
  readonly reason: string;
}

/**
 * Chooses the backend. ASYNCFL_NATS_BACKEND=process or testcontainers forces one (the
 * second fails when no engine responds); unset or `auto` uses a container when Docker responds.
 */
export async function chooseBackend(env: NodeJS.ProcessEnv = process.env): Promise<BackendChoice> {
  const forced = env.ASYNCFL_NATS_BACKEND ?? 'auto';
  if (forced === 'process') return { backend: 'process', reason: 'ASYNCFL_NATS_BACKEND=process' };
  if (forced !== 'auto' && forced !== 'testcontainers') {
    throw new Error(
      `ASYNCFL_NATS_BACKEND is ${JSON.stringify(forced)}; expected auto, process or testcontainers`
    );
  }
  const probe = await probeDocker(env);
  if (probe.reachable) {
    return {
      backend: 'testcontainers',
      reason: `Docker engine at ${probe.endpoint} ${probe.reason}`,
    };
  }
  if (forced === 'testcontainers') {
    throw new Error(
      `ASYNCFL_NATS_BACKEND=testcontainers, but no Docker engine is reachable: ${probe.reason}`
    );
  }
  return { backend: 'process', reason: `no Docker engine: ${probe.reason}` };
}

/** Starts a JetStream server on the chosen backend and logs which one it used and why. */
export async function startTestNatsServer(
  env: NodeJS.ProcessEnv = process.env
): Promise<TestNatsServer> {
  const choice = await chooseBackend(env);
  const server =
    choice.backend === 'testcontainers' ? await startContainer() : await startProcess();
  const description =
    choice.backend === 'testcontainers' ? `container ${NATS_IMAGE}` : 'nats-server process';
  console.log(
    `JetStream server for this suite: ${description} at ${server.url} (${choice.reason})`
  );
  return server;
}
