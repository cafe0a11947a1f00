// Update pipeline throughput: encode, publish through JetStream, consume, decode, reassemble and
// apply with the aggregation rule. The baseline is raw JetStream publish and consume of messages
// of the same sizes with no processing, on the same nats-server in the same run.
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { createRule, type AggregationRule } from '@asyncfl/aggregation';
import {
  Reassembler,
  decodeEnvelope,
  encodeUpdate,
  formatUpdateId,
  splitIntoChunks,
  updateSubject,
  type ModelSpec,
  type NamedTensor,
} from '@asyncfl/protocol';
import {
  LocalNatsServer,
  UPDATE_STREAM,
  connectNats,
  ensureAggregatorConsumer,
  msgIdHeaderBytes,
  provisionAssets,
  publishUpdate,
} from '@asyncfl/transport';

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
}

/** Publishers running at once, like several workers. */
const PUBLISHERS = 4;

let runCounter = 0;

function randomValues(count: number, seed: number): Float32Array {
  const values = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    values[i] = (state / 2 ** 32 - 0.5) * 1e-3;
  }
  return values;
}

/** Returns the spec of a model with a 100-row kernel and a bias, `parameters` in total. */
function modelOf(parameters: number): ModelSpec {
  const bias = 100;
  const rows = 100;
  const columns = Math.round((parameters - bias) / rows);
  return [
    { name: 'dense/kernel', shape: [rows, columns], dtype: 'float32', trainable: true },
    { name: 'dense/bias', shape: [bias], dtype: 'float32', trainable: true },
  ];
}

function tensorsOf(spec: ModelSpec, seed: number): NamedTensor[] {
  return spec.map((t, i) => ({
    name: t.name,
    shape: t.shape,
    values: randomValues(
      t.shape.reduce((a, b) => a * b, 1),
      seed * 7 + i
    ),
  }));
}

function createBenchRule(spec: ModelSpec, tensors: readonly NamedTensor[]): AggregationRule {
  return createRule(
    {
      kind: 'fedasync',
      alpha: 0.6,
      staleness: { kind: 'polynomial', a: 0.5 },
      maxStaleness: 1_000_000,
    },
    spec,
    new Map(tensors.map((t) => [t.name, t.values]))
  );
}

interface Fixture {
  readonly server: LocalNatsServer;
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly maxPayload: number;
}

async function openFixture(): Promise<Fixture> {
  const server = await LocalNatsServer.start();
  const nc = await connectNats({ servers: [server.url], name: 'bench-throughput' });
  await provisionAssets(nc);
  return { server, nc, js: jetstream(nc), maxPayload: nc.info?.max_payload ?? 1024 * 1024 };
}

async function closeFixture(fixture: Fixture): Promise<void> {
  await fixture.nc.close();
  await fixture.server.stop();
}

/** Runs `count` tasks through `PUBLISHERS` concurrent loops. */
async function publishConcurrently(count: number, publish: (index: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: PUBLISHERS }, async () => {
      while (next < count) await publish(next++);
    })
  );
}

async function consumerFor(fixture: Fixture, job: string) {
  const assets = await provisionAssets(fixture.nc);
  const durable = await ensureAggregatorConsumer(assets.jsm, job, {
    ackWaitMs: 60_000,
    maxAckPending: 10_000,
  });
  const consumer = await fixture.js.consumers.get(UPDATE_STREAM, durable);
  return consumer.consume({ max_messages: 512 });
}

/** Encodes, publishes, consumes, decodes and applies `updates` updates. */
async function runPipeline(
  fixture: Fixture,
  parameters: number,
  updates: number
): Promise<ThroughputResult> {
  const job = `pipe${parameters}n${++runCounter}`;
  const spec = modelOf(parameters);
  const initial = tensorsOf(spec, 0);
  const rule = createBenchRule(spec, initial);
  // A few distinct deltas, so that encoding does real work on each update.
  const deltas = [1, 2, 3, 4].map((seed) => tensorsOf(spec, seed));
  const reassembler = new Reassembler<number>({ maxUpdateBytes: 512 << 20, maxOpenSets: 4096 });
  const messages = await consumerFor(fixture, job);
  let updateBytes = 0;
  let messagesPerUpdate = 1;

  const startedAt = performance.now();
  const consumed = (async () => {
    let applied = 0;
    for await (const msg of messages) {
      const envelope = decodeEnvelope(msg.data);
      msg.ack();
      let update;
      if (envelope.kind === 'update') update = envelope.update;
      else {
        const result = reassembler.add(envelope.chunk, Date.now(), msg.seq);
        if (result.status !== 'complete') continue;
        const whole = decodeEnvelope(result.bytes);
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
        baseVersion: Math.min(update.baseVersion, rule.version),
        numExamples: update.numExamples,
        tensors: new Map(update.tensors.map((t) => [t.name, t.values])),
      });
      applied += 1;
      if (applied === updates) break;
    }
  })();
  await publishConcurrently(updates, async (index) => {
    const rank = index % PUBLISHERS;
    const seq = Math.floor(index / PUBLISHERS) + 1;
    const bytes = encodeUpdate({
      job,
      rank,
      workerId: `bench-${rank}`,
      incarnation: 'cafe0001',
      seq,
      baseVersion: rule.version,
      numExamples: 32,
      localSteps: 1,
      localLr: 0.1,
      trainLoss: 1,
      architectureHash: 'ab'.repeat(32),
      tensors: deltas[index % deltas.length]!,
    });
    updateBytes = bytes.length;
    const id = formatUpdateId({ job, rank, incarnation: 'cafe0001', seq });
    const ack = await publishUpdate(fixture.js, updateSubject(job, rank), id, bytes, {
      maxPayload: fixture.maxPayload,
    });
    messagesPerUpdate = ack.messages;
  });
  await consumed;
  const seconds = (performance.now() - startedAt) / 1000;
  return {
    mode: 'pipeline',
    parameters,
    updates,
    updateBytes,
    messagesPerUpdate,
    seconds,
    updatesPerSecond: updates / seconds,
    megabytesPerSecond: (updates * updateBytes) / seconds / 1e6,
  };
}

/**
 * Publishes and consumes messages of the sizes a `parameters` update produces, split the same
 * way, with no encoding, decoding or applying.
 */
async function runRaw(
  fixture: Fixture,
  parameters: number,
  updates: number
): Promise<ThroughputResult> {
  const job = `raw${parameters}n${++runCounter}`;
  const spec = modelOf(parameters);
  const sample = encodeUpdate({
    job,
    rank: 0,
    workerId: 'bench-0',
    incarnation: 'cafe0001',
    seq: 1,
    baseVersion: 0,
    numExamples: 32,
    localSteps: 1,
    localLr: 0.1,
    trainLoss: 1,
    architectureHash: 'ab'.repeat(32),
    tensors: tensorsOf(spec, 1),
  });
  const sampleId = formatUpdateId({ job, rank: 0, incarnation: 'cafe0001', seq: 1 });
  const payloads =
    sample.length + msgIdHeaderBytes(sampleId) <= fixture.maxPayload
      ? [sample]
      : splitIntoChunks(
          sampleId,
          sample,
          fixture.maxPayload - msgIdHeaderBytes(`${sampleId}.99`) - 128
        );
  const messagesPerUpdate = payloads.length;
  const total = updates * messagesPerUpdate;
  const messages = await consumerFor(fixture, job);

  const startedAt = performance.now();
  const consumed = (async () => {
    let received = 0;
    for await (const msg of messages) {
      msg.ack();
      received += 1;
      if (received === total) break;
    }
  })();
  await publishConcurrently(updates, async (index) => {
    const rank = index % PUBLISHERS;
    for (const [part, payload] of payloads.entries()) {
      await fixture.js.publish(updateSubject(job, rank), payload, {
        msgID: `${job}.${index}.${part}`,
      });
    }
  });
  await consumed;
  const seconds = (performance.now() - startedAt) / 1000;
  return {
    mode: 'raw',
    parameters,
    updates,
    updateBytes: sample.length,
    messagesPerUpdate,
    seconds,
    updatesPerSecond: updates / seconds,
    megabytesPerSecond: (updates * sample.length) / seconds / 1e6,
  };
}

/** Sizes and update counts of the throughput benchmark. */
export const THROUGHPUT_CASES = [
  { parameters: 100_000, updates: 300 },
  { parameters: 1_000_000, updates: 40 },
] as const;

/**
 * Measures both modes at each size, alternating raw and pipeline `repeats` times on one server,
 * and returns every measurement.
 */
export async function measureThroughput(
  cases: readonly { parameters: number; updates: number }[] = THROUGHPUT_CASES,
  repeats = 3
): Promise<ThroughputResult[]> {
  const fixture = await openFixture();
  const results: ThroughputResult[] = [];
  try {
    for (const { parameters, updates } of cases) {
      // Warm-up of both paths, not recorded.
      await runRaw(fixture, parameters, Math.max(4, updates / 10));
      await runPipeline(fixture, parameters, Math.max(4, updates / 10));
      for (let i = 0; i < repeats; i++) {
        results.push(await runRaw(fixture, parameters, updates));
        results.push(await runPipeline(fixture, parameters, updates));
      }
    }
  } finally {
    await closeFixture(fixture);
  }
  return results;
}
