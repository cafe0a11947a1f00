// Update pipeline throughput. A publisher process (bench/comm/throughput-publisher.ts) stands for
// the workers: it encodes updates and publishes them through JetStream. This process consumes,
// decodes, reassembles and applies them with the aggregation rule, as the aggregator does. The
// baseline is raw JetStream publish and consume of messages of the same sizes with no
// processing, on the same nats-server in the same run.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { createRule } from '@asyncfl/aggregation';
import {
  Reassembler,
  decodeEnvelope,
  formatUpdateId,
  jobUpdateFilter,
  splitIntoChunks,
  type UpdateMessage,
} from '@asyncfl/protocol';
import {
  LocalNatsServer,
  UPDATE_STREAM,
  connectNats,
  ensureAggregatorConsumer,
  provisionAssets,
  pullBatchSize,
} from '@asyncfl/transport';
import { ROOT } from './processes';
import {
  PUBLISHERS,
  encodeBenchUpdate,
  modelOf,
  prepareBenchUpdate,
  rawPayloads,
  tensorsOf,
} from './throughput-model';

/** Result of one mode at one model size. */
export interface ThroughputResult {
  readonly mode: 'pipeline' | 'raw';
  readonly parameters: number;
  readonly updates: number;
  /** Bytes of one encoded update, before chunking. */
  readonly updateBytes: number;
  /** Messages per update: 1, or the chunk count when an update exceeds the payload limit. */
  readonly messagesPerUpdate: number;
  readonly seconds: number;
  readonly updatesPerSecond: number;
  readonly megabytesPerSecond: number;
  /**
   * CPU time per update of the publisher, the consumer and nats-server, in milliseconds. The
   * server's is null where /proc cannot be read.
   */
  readonly cpuMsPerUpdate: {
    readonly publisher: number;
    readonly consumer: number;
    readonly server: number | null;
  };
}

export { PUBLISHERS };

/**
 * Clock ticks per second of /proc/<pid>/stat times (USER_HZ). Node.js cannot query it; 100 is
 * what sysconf(_SC_CLK_TCK) returns on this x86-64 Linux machine.
 */
const CLOCK_TICKS_PER_SECOND = 100;

/** Returns the CPU time of process `pid` in milliseconds, or null without a readable /proc. */
function processCpuMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may contain spaces, start at the state (field 3).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / CLOCK_TICKS_PER_SECOND : null;
  } catch {
    return null;
  }
}

let runCounter = 0;

interface Fixture {
  readonly server: LocalNatsServer;
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
}

/** Starts a publisher process, which resolves `ready` and then publishes after `start()`. */
function startPublisher(
  mode: 'pipeline' | 'raw',
  url: string,
  job: string,
  parameters: number,
  updates: number
) {
  const profileDir = process.env.BENCH_CPU_PROF_DIR;
  const child = spawn(
    process.execPath,
    [
      ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', join(profileDir, 'publisher')] : []),
      '--import',
      'tsx',
      join(ROOT, 'bench/comm/throughput-publisher.ts'),
      mode,
      url,
      job,
      String(parameters),
      String(updates),
    ],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] }
  );
  const lines = createInterface({ input: child.stdout! });
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const done = new Promise<{ updateBytes: number; messagesPerUpdate: number; cpuMs: number }>(
    (resolve, reject) => {
      lines.on('line', (line) => {
        const parsed = JSON.parse(line) as {
          ready?: boolean;
          updateBytes?: number;
          messagesPerUpdate?: number;
          cpuMs?: number;
        };
        if (parsed.ready) markReady();
        if (parsed.updateBytes !== undefined) {
          resolve({
            updateBytes: parsed.updateBytes,
            messagesPerUpdate: parsed.messagesPerUpdate!,
            cpuMs: parsed.cpuMs!,
          });
        }
      });
      child.once('exit', (code) => {
        if (code !== 0) reject(new Error(`throughput-publisher.ts exited with code ${code}`));
      });
    }
  );
  return { ready, done, start: () => child.stdin!.end('go\n') };
}

/** Runs one mode: the publisher process sends `updates` updates and this process consumes them. */
async function runMode(
  fixture: Fixture,
  mode: 'pipeline' | 'raw',
  parameters: number,
  updates: number
): Promise<ThroughputResult> {
  const job = `${mode}${parameters}n${++runCounter}`;
  const spec = modelOf(parameters);
  const rule = createRule(
    {
      kind: 'fedasync',
      alpha: 0.6,
      staleness: { kind: 'polynomial', a: 0.5 },
      maxStaleness: 1_000_000,
    },
    spec,
    new Map(tensorsOf(spec, 0).map((t) => [t.name, t.values]))
  );
  const reassembler = new Reassembler<number>({ maxUpdateBytes: 512 << 20, maxOpenSets: 4096 });
  const assets = await provisionAssets(fixture.nc);
  const durable = await ensureAggregatorConsumer(assets.jsm, job, {
    ackWaitMs: 60_000,
    maxAckPending: 10_000,
  });
  const maxPayload = fixture.nc.info?.max_payload ?? 1024 * 1024;
  const messages = await (
    await fixture.js.consumers.get(UPDATE_STREAM, durable)
  ).consume({ max_messages: pullBatchSize(16 * 1024 * 1024, maxPayload) });
  const expectedMessages = updates * rawPayloads(job, parameters, maxPayload).length;
  const publisher = startPublisher(mode, fixture.server.url, job, parameters, updates);
  await publisher.ready;

  const startedAt = performance.now();
  const consumerCpuAtStart = process.cpuUsage();
  const serverCpuAtStart = processCpuMs(fixture.server.pid);
  publisher.start();
  const consumed = (async () => {
    let received = 0;
    let applied = 0;
    for await (const msg of messages) {
      if (mode === 'raw') {
        msg.ack();
        received += 1;
        if (received === expectedMessages) break;
        continue;
      }
      const envelope = decodeEnvelope(msg.data);
      msg.ack();
      let update;
      if (envelope.kind === 'update') update = envelope.update;
      else {
        const result = reassembler.add(envelope.chunk, Date.now(), msg.seq);
        if (result.status !== 'complete') continue;
        const whole = decodeEnvelope(result.bytes);
        reassembler.release(result.bytes);
        if (whole.kind !== 'update') throw new Error('reassembled bytes are not an update');
        update = whole.update;
      }
      rule.submit({
        id: formatUpdateId({
          job,
          rank: update.rank,
          incarnation: update.incarnation,
          seq: update.seq,
        }),
        rank: update.rank,
        baseVersion: rule.version,
        numExamples: update.numExamples,
        tensors: new Map(update.tensors.map((t) => [t.name, t.values])),
      });
      applied += 1;
      if (applied === updates) break;
    }
  })();
  const { updateBytes, messagesPerUpdate, cpuMs: publisherCpuMs } = await publisher.done;
  await consumed;
  const seconds = (performance.now() - startedAt) / 1000;
  const consumerCpu = process.cpuUsage(consumerCpuAtStart);
  const serverCpuAtEnd = processCpuMs(fixture.server.pid);
  // The update stream discards new messages when full, so each run removes its own.
  await messages.close();
  await assets.jsm.consumers.delete(UPDATE_STREAM, durable);
  await assets.jsm.streams.purge(UPDATE_STREAM, { filter: jobUpdateFilter(job) });
  return {
    mode,
    parameters,
    updates,
    updateBytes,
    messagesPerUpdate,
    seconds,
    updatesPerSecond: updates / seconds,
    megabytesPerSecond: (updates * updateBytes) / seconds / 1e6,
    cpuMsPerUpdate: {
      publisher: publisherCpuMs / updates,
      consumer: (consumerCpu.user + consumerCpu.system) / 1000 / updates,
      server:
        serverCpuAtStart === null || serverCpuAtEnd === null
          ? null
          : (serverCpuAtEnd - serverCpuAtStart) / updates,
    },
  };
}

/** CPU time of each processing stage for one update, in milliseconds (medians). */
export interface ProcessingCost {
  readonly parameters: number;
  /** Preparing the update and writing its message, or its chunks above the payload limit. */
  readonly encodeMs: number;
  /** Copying the chunks into one buffer; 0 for an update sent as one message. */
  readonly reassembleMs: number;
  readonly decodeMs: number;
  readonly applyMs: number;
}

function medianMs(repeats: number, operation: () => unknown): number {
  operation();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const startedAt = performance.now();
    operation();
    times.push(performance.now() - startedAt);
  }
  return times.sort((a, b) => a - b)[times.length >> 1]!;
}

/** Times each processing stage of one update in this process, without NATS. */
export function measureProcessing(parameters: number, maxPayload: number): ProcessingCost {
  const spec = modelOf(parameters);
  const tensors = tensorsOf(spec, 1);
  const rule = createRule(
    { kind: 'fedasync', alpha: 0.6, staleness: { kind: 'polynomial', a: 0.5 }, maxStaleness: 1e6 },
    spec,
    new Map(tensorsOf(spec, 0).map((t) => [t.name, t.values]))
  );
  const bytes = encodeBenchUpdate('cost', 0, 1, tensors);
  const chunkDataBytes = maxPayload - 256;
  const chunked = rawPayloads('cost', parameters, maxPayload).length > 1;
  const encode = () => {
    const prepared = prepareBenchUpdate('cost', 0, 1, tensors);
    return chunked ? prepared.toChunks('cost.0.cafe0001.1', chunkDataBytes) : prepared.toBytes();
  };
  const chunks = splitIntoChunks('cost.0.cafe0001.1', bytes, chunkDataBytes);
  let decoded: UpdateMessage | undefined;
  let seq = 0;
  return {
    parameters,
    encodeMs: medianMs(15, encode),
    reassembleMs: chunked
      ? medianMs(15, () => {
          const reassembler = new Reassembler<number>({
            maxUpdateBytes: 512 << 20,
            maxOpenSets: 4,
          });
          for (const chunk of chunks) {
            const envelope = decodeEnvelope(chunk);
            if (envelope.kind === 'chunk') reassembler.add(envelope.chunk, 0, 0);
          }
        })
      : 0,
    decodeMs: medianMs(15, () => {
      const envelope = decodeEnvelope(bytes);
      if (envelope.kind === 'update') decoded = envelope.update;
    }),
    applyMs: medianMs(15, () =>
      rule.submit({
        id: `cost.0.cafe0001.${++seq}`,
        rank: 0,
        baseVersion: rule.version,
        numExamples: 32,
        tensors: new Map(decoded!.tensors.map((t) => [t.name, t.values])),
      })
    ),
  };
}

/** Sizes and update counts of the throughput benchmark. */
export const THROUGHPUT_CASES = [
  { parameters: 100_000, updates: 2000 },
  { parameters: 1_000_000, updates: 240 },
] as const;

/**
 * Measures both modes at each size `repeats` times on one server, in the order raw, pipeline,
 * pipeline, raw and so on, so that a drift in the machine's load affects both alike.
 */
export async function measureThroughput(
  cases: readonly { parameters: number; updates: number }[] = THROUGHPUT_CASES,
  repeats = 5
): Promise<ThroughputResult[]> {
  const server = await LocalNatsServer.start();
  const nc = await connectNats({ servers: [server.url], name: 'bench-throughput' });
  const fixture: Fixture = { server, nc, js: jetstream(nc) };
  const results: ThroughputResult[] = [];
  try {
    await provisionAssets(nc);
    for (const { parameters, updates } of cases) {
      // Warm-up of both paths, not recorded.
      const warmUp = Math.max(4, Math.round(updates / 10));
      await runMode(fixture, 'raw', parameters, warmUp);
      await runMode(fixture, 'pipeline', parameters, warmUp);
      for (let i = 0; i < repeats; i++) {
        const order = i % 2 === 0 ? (['raw', 'pipeline'] as const) : (['pipeline', 'raw'] as const);
        for (const mode of order) results.push(await runMode(fixture, mode, parameters, updates));
      }
    }
  } finally {
    await nc.close();
    await server.stop();
  }
  return results;
}
