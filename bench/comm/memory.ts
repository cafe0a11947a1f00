// Aggregator memory as the number of workers grows. The real aggregator process consumes MLP
// updates from simulated workers (publishers in this process, one subject per rank). Its resident
// set and V8 heap are read from its /metrics endpoint.
import { jetstream } from '@nats-io/jetstream';
import type { KvWatchEntry } from '@nats-io/kv';
import { loadWorkerConfig } from '@asyncfl/config';
import { loadDataSplit } from '@asyncfl/data';
import { architectureHash, createModel, initBackend, modelSpec } from '@asyncfl/model';
import {
  decodeManifest,
  encodeUpdate,
  formatUpdateId,
  latestManifestKey,
  updateSubject,
  type NamedTensor,
} from '@asyncfl/protocol';
import { LocalNatsServer, connectNats, provisionAssets, publishUpdate } from '@asyncfl/transport';
import { startTsx, stopAll, type RunningProcess } from './processes';

/** Aggregator memory with `workers` simulated workers. */
export interface MemoryResult {
  readonly workers: number;
  readonly updatesApplied: number;
  /** Medians of the samples taken during the second half of the updates. */
  readonly residentMb: number;
  readonly heapUsedMb: number;
  readonly samples: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] ?? Number.NaN;
}

function metricValue(text: string, name: string): number {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
  if (!match) throw new Error(`metric ${name} not found in the aggregator's /metrics`);
  return Number(match[1]);
}

function deltasOf(spec: ReturnType<typeof modelSpec>, seed: number): NamedTensor[] {
  let state = seed >>> 0;
  return spec.map((t) => {
    const values = new Float32Array(t.shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < values.length; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      values[i] = (state / 2 ** 32 - 0.5) * 1e-4;
    }
    return { name: t.name, shape: t.shape, values };
  });
}

/**
 * Runs the aggregator while `workers` simulated workers publish `totalUpdates` updates in turn,
 * sampling its memory once per second during the second half. The total is the same for every
 * world size, so that a difference in memory comes from the number of workers and not from the
 * amount of work.
 */
export async function measureMemory(
  workers: number,
  logDir: string,
  totalUpdates = 384
): Promise<MemoryResult> {
  const config = loadWorkerConfig({ args: [], env: {} });
  await initBackend(config.backend);
  const model = createModel(config.model.name, {
    hidden: [...config.model.hidden],
    seed: config.model.seed,
    inputShape: [...loadDataSplit(config.data).test.imageShape],
  });
  const spec = modelSpec(model);
  const archHash = architectureHash(spec);
  model.dispose();
  const deltas = [1, 2, 3].map((seed) => deltasOf(spec, seed));

  const server = await LocalNatsServer.start();
  const processes: RunningProcess[] = [];
  const nc = await connectNats({ servers: [server.url], name: 'bench-memory' });
  try {
    const job = `mem${workers}`;
    const { modelKv } = await provisionAssets(nc);
    const aggregator = startTsx(
      'aggregator',
      'services/aggregator/src/main.ts',
      ['--nats', server.url, '--job', job, '--http-port', '0', '--max-staleness', '1000'],
      logDir
    );
    processes.push(aggregator);
    const listening = aggregator.waitForLog('HTTP server listening');
    await aggregator.waitForLog('consuming updates');
    const metricsUrl = `${String((await listening).url).replace(/\/$/, '')}/metrics`;

    let version = 0;
    let consumedSeq = 0;
    let applied = 0;
    const watch = await modelKv.watch({ key: latestManifestKey(job) });
    void (async () => {
      for await (const entry of watch as AsyncIterable<KvWatchEntry>) {
        if (entry.operation !== 'PUT') continue;
        const manifest = decodeManifest(entry.value);
        version = manifest.version;
        consumedSeq = manifest.progress.consumedSeq ?? 0;
        applied = manifest.progress.updatesApplied;
      }
    })();

    const js = jetstream(nc);
    const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
    const total = totalUpdates;
    const samples: { resident: number; heap: number }[] = [];
    let lastSampleAt = 0;
    for (let index = 0; index < total; index++) {
      const rank = index % workers;
      const seq = Math.floor(index / workers) + 1;
      // Keep the backlog short, as the workers' one-update-in-flight rule does.
      while (index - consumedSeq > 16) await sleep(20);
      const bytes = encodeUpdate({
        job,
        rank,
        workerId: `sim-${rank}`,
        incarnation: 'simulated',
        seq,
        baseVersion: version,
        numExamples: 32,
        localSteps: 5,
        localLr: 0.1,
        trainLoss: 1,
        architectureHash: archHash,
        tensors: deltas[index % deltas.length]!,
      });
      const id = formatUpdateId({ job, rank, incarnation: 'simulated', seq });
      await publishUpdate(js, updateSubject(job, rank), id, bytes, { maxPayload });
      if (index >= total / 2 && Date.now() - lastSampleAt >= 1000) {
        lastSampleAt = Date.now();
        const text = await (await fetch(metricsUrl)).text();
        samples.push({
          resident: metricValue(text, 'process_resident_memory_bytes'),
          heap: metricValue(text, 'nodejs_heap_size_used_bytes'),
        });
      }
    }
    const deadline = Date.now() + 30_000;
    while (consumedSeq < total && Date.now() < deadline) await sleep(100);
    const text = await (await fetch(metricsUrl)).text();
    samples.push({
      resident: metricValue(text, 'process_resident_memory_bytes'),
      heap: metricValue(text, 'nodejs_heap_size_used_bytes'),
    });
    watch.stop();
    return {
      workers,
      updatesApplied: applied,
      residentMb: median(samples.map((s) => s.resident)) / 2 ** 20,
      heapUsedMb: median(samples.map((s) => s.heap)) / 2 ** 20,
      samples: samples.length,
    };
  } finally {
    await stopAll(processes);
    await nc.close();
    await server.stop();
  }
}
