// Shared helpers of the integration suite: a real nats-server, the two services as child
// processes, and readers of what they stored.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  decodeEnvelope,
  decodeManifest,
  formatUpdateId,
  jobUpdateFilter,
  latestManifestKey,
  type Manifest,
} from '@asyncfl/protocol';
import { MODEL_BUCKET, UPDATE_STREAM } from '@asyncfl/transport';
import { startTestNatsServer, type TestNatsServer } from './nats-backend';

export type { TestNatsServer } from './nats-backend';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Starts a JetStream server for one suite: a container where a Docker engine is reachable,
 * otherwise a nats-server process (see nats-backend.ts). Suites that signal or restart the
 * server start a LocalNatsServer themselves, because only a process gives that control.
 */
export async function startServer(env: NodeJS.ProcessEnv = process.env): Promise<TestNatsServer> {
  return startTestNatsServer(env);
}

/** A service started as a child process, with its output kept for failure messages. */
export class ServiceProcess {
  output = '';
  readonly exited: Promise<number>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on(
      'data',
      (c: Buffer) => (this.output = (this.output + c.toString()).slice(-200_000))
    );
    child.stderr?.on(
      'data',
      (c: Buffer) => (this.output = (this.output + c.toString()).slice(-200_000))
    );
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 0)))
    );
  }

  /** Parsed JSON log lines. */
  logLines(): Record<string, unknown>[] {
    return this.output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

/** Starts a service entry point (`aggregator` or `worker`) with tsx. */
export function startService(
  service: 'aggregator' | 'worker',
  args: string[],
  env: NodeJS.ProcessEnv = {}
): ServiceProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, `services/${service}/src/main.ts`), ...args],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Aggregators of parallel suites must not compete for the default HTTP port 9464.
      env: { ...process.env, ...(service === 'aggregator' ? { FL_HTTP_PORT: '0' } : {}), ...env },
    }
  );
  return new ServiceProcess(child);
}

/** Creates a temporary directory for a test's outputs. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `asyncfl-${prefix}-`));
}

/** Records every manifest written to a job's key, in revision order, from now on. */
export async function recordManifests(
  kv: KV,
  job: string
): Promise<{ manifests: Manifest[]; stop: () => void }> {
  const manifests: Manifest[] = [];
  const watch = await kv.watch({ key: latestManifestKey(job) });
  void (async () => {
    for await (const entry of watch as AsyncIterable<KvWatchEntry>) {
      if (entry.operation === 'PUT') manifests.push(decodeManifest(entry.value));
    }
  })();
  return { manifests, stop: () => watch.stop() };
}

/**
 * Records every manifest written to a job's key, in order, from now on, through a durable pull
 * consumer on the model bucket's stream. A KV watch uses a consumer on one server, and after that
 * server dies it can resume past manifests that the bucket's history limit has dropped. A
 * replicated durable consumer keeps its position across the loss of a node.
 */
export async function recordManifestsDurably(
  nc: NatsConnection,
  job: string
): Promise<{ manifests: Manifest[]; stop: () => void }> {
  const manifests: Manifest[] = [];
  const jsm = await jetstreamManager(nc);
  const stream = `KV_${MODEL_BUCKET}`;
  const name = `recorder-${job}-${Date.now().toString(36)}`;
  await jsm.consumers.add(stream, {
    durable_name: name,
    filter_subject: `$KV.${MODEL_BUCKET}.${latestManifestKey(job)}`,
    deliver_policy: DeliverPolicy.All,
    ack_policy: AckPolicy.Explicit,
  });
  const consumer = await jetstream(nc).consumers.get(stream, name);
  // Short pull requests, so that one lost with a node is noticed within seconds.
  const messages = await consumer.consume({ expires: 5_000 });
  void (async () => {
    for await (const msg of messages) {
      const operation = msg.headers?.get('KV-Operation') ?? '';
      if ((operation === '' || operation === 'PUT') && msg.data.length > 0) {
        manifests.push(decodeManifest(msg.data));
      }
      msg.ack();
    }
  })();
  return {
    manifests,
    stop: () => {
      messages.stop();
      void jsm.consumers.delete(stream, name).catch(() => undefined);
    },
  };
}

/** Update ids of every message in the update stream for a job, with the stream sequences. */
export async function publishedUpdateIds(
  nc: NatsConnection,
  job: string
): Promise<Map<string, number[]>> {
  const js = jetstream(nc);
  const consumer = await js.consumers.get(UPDATE_STREAM, { filter_subjects: jobUpdateFilter(job) });
  const ids = new Map<string, number[]>();
  for (;;) {
    const msg = await consumer.next({ expires: 2_000 });
    if (msg === null) break;
    let id = `seq:${msg.seq}`;
    try {
      const envelope = decodeEnvelope(msg.data);
      if (envelope.kind === 'chunk') id = envelope.chunk.updateId;
      else {
        const u = envelope.update;
        id = formatUpdateId({ job: u.job, rank: u.rank, incarnation: u.incarnation, seq: u.seq });
      }
    } catch {
      // Undecodable messages are recorded by the aggregator under their stream sequence.
    }
    ids.set(id, [...(ids.get(id) ?? []), msg.seq]);
    if (msg.info.pending === 0) break;
  }
  return ids;
}

/** Counts how often each id was recorded as applied or rejected across all manifests. */
export function recordedIds(manifests: readonly Manifest[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const manifest of manifests) {
    for (const id of manifest.covers.applied) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const rejected of manifest.covers.rejected)
      counts.set(rejected.id, (counts.get(rejected.id) ?? 0) + 1);
  }
  return counts;
}
