import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { ServerProcessError } from './errors';

/** Options of a nats-server process started on this machine. */
export interface LocalServerOptions {
  /** Client port; a free port is picked when omitted. */
  readonly port?: number;
  /** JetStream storage directory; a temporary one, removed on stop, when omitted. */
  readonly storeDir?: string;
  /** Extra command-line arguments, e.g. cluster settings. */
  readonly args?: readonly string[];
  /** Time allowed until the server reports ready, in milliseconds. */
  readonly readyTimeoutMs?: number;
}

const CANDIDATE_PATHS = [
  '/usr/sbin/nats-server',
  '/usr/bin/nats-server',
  '/usr/local/bin/nats-server',
];

/** Finds the nats-server binary: $NATS_SERVER_BIN, then PATH, then the usual install paths. */
export function findNatsServerBinary(): string | undefined {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  const which = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' });
  const found = which.stdout.trim();
  if (which.status === 0 && found) return found;
  return CANDIDATE_PATHS.find((path) => existsSync(path));
}

/** Returns a TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port was assigned'));
      });
    });
  });
}

/** A nats-server with JetStream running as a child process on 127.0.0.1. */
export class LocalNatsServer {
  private exited: Promise<void>;
  private log = '';

  private constructor(
    private child: ChildProcess,
    readonly port: number,
    readonly storeDir: string,
    private readonly ownsStoreDir: boolean,
    private readonly binary: string,
    private readonly args: readonly string[]
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /** Client URL of the server. */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Process id, for tests that signal the server. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Starts a server and waits until it accepts clients. */
  static async start(options: LocalServerOptions = {}): Promise<LocalNatsServer> {
    const binary = findNatsServerBinary();
    if (!binary) {
      throw new ServerProcessError(
        'nats-server is not installed; install it (Debian: apt-get install nats-server) or set NATS_SERVER_BIN, or point the program at a running server'
      );
    }
    const port = options.port ?? (await freePort());
    const ownsStoreDir = options.storeDir === undefined;
    const storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), 'asyncfl-nats-'));
    const args = [
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      '-js',
      '-sd',
      storeDir,
      ...(options.args ?? []),
    ];
    const server = new LocalNatsServer(
      LocalNatsServer.launch(binary, args),
      port,
      storeDir,
      ownsStoreDir,
      binary,
      args
    );
    await server.waitReady(options.readyTimeoutMs ?? 15_000);
    return server;
  }

  private static launch(binary: string, args: readonly string[]): ChildProcess {
    return spawn(binary, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  }

  private waitReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        finish(
          new ServerProcessError(
            `nats-server on port ${this.port} was not ready after ${timeoutMs} ms; its log:\n${this.log}`
          )
        );
      }, timeoutMs);
      const onData = (chunk: Buffer) => {
        this.log = (this.log + chunk.toString()).slice(-8000);
        if (this.log.includes('Server is ready')) finish();
      };
      const onExit = (code: number | null) =>
        finish(
          new ServerProcessError(
            `nats-server exited with code ${code} before it was ready; its log:\n${this.log}`
          )
        );
      const finish = (err?: Error) => {
        clearTimeout(timer);
        this.child.stderr?.off('data', onData);
        this.child.off('exit', onExit);
        // Keep draining output so the pipe never fills and blocks the server.
        this.child.stderr?.on(
          'data',
          (c: Buffer) => (this.log = (this.log + c.toString()).slice(-8000))
        );
        if (err) reject(err);
        else resolve();
      };
      this.child.stdout?.resume();
      this.child.stderr?.on('data', onData);
      this.child.once('exit', onExit);
    });
  }

  /** Returns the last lines the server logged. */
  recentLog(): string {
    return this.log;
  }

  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its temporary store. */
  async stop(): Promise<void> {
    await this.kill('SIGTERM');
    if (this.ownsStoreDir) rmSync(this.storeDir, { recursive: true, force: true });
  }

  /** Sends a signal and waits for exit; SIGKILL follows when SIGTERM is not obeyed in 5 s. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(timer);
  }

  /** Sends a signal without waiting, e.g. SIGSTOP and SIGCONT to freeze and resume it. */
  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the server again on the same port and store, after `kill`. */
  async restart(): Promise<void> {
    await this.kill('SIGTERM');
    const child = LocalNatsServer.launch(this.binary, this.args);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    this.log = '';
    await this.waitReady(15_000);
  }
}

/** Options of a local JetStream cluster. */
export interface LocalClusterOptions {
  /** Servers in the cluster; JetStream needs at least 3 for R3 assets. */
  readonly size?: number;
  /** Cluster name. */
  readonly name?: string;
}

/** Several nats-server processes on 127.0.0.1 routed into one JetStream cluster. */
export class LocalNatsCluster {
  private constructor(
    readonly servers: LocalNatsServer[],
    readonly names: string[]
  ) {}

  /** Client URLs of every server. */
  get urls(): string[] {
    return this.servers.map((server) => server.url);
  }

  /** Starts the servers; each one routes to all the others. */
  static async start(options: LocalClusterOptions = {}): Promise<LocalNatsCluster> {
    const size = options.size ?? 3;
    const name = options.name ?? 'asyncfl';
    const clusterPorts: number[] = [];
    for (let i = 0; i < size; i++) clusterPorts.push(await freePort());
    const routes = clusterPorts.map((port) => `nats://127.0.0.1:${port}`).join(',');
    const names = clusterPorts.map((_, i) => `${name}-${i}`);
    const servers = await Promise.all(
      clusterPorts.map((port, i) =>
        LocalNatsServer.start({
          args: [
            '-n',
            names[i]!,
            '--cluster_name',
            name,
            '--cluster',
            `nats://127.0.0.1:${port}`,
            '--routes',
            routes,
          ],
        })
      )
    );
    const cluster = new LocalNatsCluster(servers, names);
    await cluster.waitForJetStream(30_000);
    return cluster;
  }

  /** Waits until the cluster has elected a JetStream meta leader and serves API requests. */
  private async waitForJetStream(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const nc = await connect({ servers: this.urls, name: 'cluster-ready-check' });
    try {
      for (;;) {
        try {
          const jsm = await jetstreamManager(nc, { timeout: 2_000 });
          await jsm.getAccountInfo();
          return;
        } catch (err) {
          if (Date.now() > deadline) {
            throw new ServerProcessError(
              `JetStream cluster not ready after ${timeoutMs} ms: ${String(err)}`,
              { cause: err }
            );
          }
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
    } finally {
      await nc.close();
    }
  }

  /** Returns the server process with the given server name. */
  byName(serverName: string): LocalNatsServer | undefined {
    const index = this.names.indexOf(serverName);
    return index >= 0 ? this.servers[index] : undefined;
  }

  /** Stops every server and removes their stores. */
  async stop(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.stop()));
  }
}
