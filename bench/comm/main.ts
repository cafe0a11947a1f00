// Communication benchmarks: time to accuracy of FedAsync and FedBuff against synchronous FedAvg
// with slow and departing workers, pipeline throughput against raw JetStream, bytes and accuracy
// per update compression, and aggregator memory per worker.
//
//   npm run bench:comm -- [--quick] [--seeds N] [--only tta,compression,throughput,memory]
//                         [--no-write]
//
// Writes docs/bench/comm.json, docs/bench/comm-accuracy.svg and the comm-bench section of
// docs/benchmarks.md. With --only, the other parts keep their previous results from the JSON.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { findNatsServerBinary } from '@asyncfl/transport';
import { replaceSection } from '../../scripts/benchmark-section';
import { measureStepMs } from './calibrate';
import { accuracyChart } from './chart';
import { measureMemory, type MemoryResult } from './memory';
import { ROOT } from './processes';
import { renderSection } from './report';
import { runAsync, runSync, type RunResult, type Workload } from './runs';
import { measureThroughput, type ThroughputResult } from './throughput';

const PARTS = ['tta', 'compression', 'throughput', 'memory'] as const;
type Part = (typeof PARTS)[number];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seeds: { type: 'string' },
    only: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    'log-dir': { type: 'string', default: 'runs/bench-comm' },
  },
  strict: true,
});

const quick = values.quick!;
const seedCount = Number(values.seeds ?? (quick ? 1 : 3));
const parts = new Set<Part>(values.only ? (values.only.split(',') as Part[]) : [...PARTS]);
for (const part of parts) {
  if (!PARTS.includes(part)) {
    console.error(`--only: unknown part '${part}'; expected some of ${PARTS.join(', ')}`);
    process.exit(2);
  }
}
const logRoot = join(ROOT, values['log-dir']!);
const docsDir = join(ROOT, 'docs');
const jsonPath = join(docsDir, 'bench', 'comm.json');
const svgPath = join(docsDir, 'bench', 'comm-accuracy.svg');

/** Settings of the time-to-accuracy and compression runs. */
export interface TtaSettings {
  readonly world: number;
  readonly localSteps: number;
  readonly slowRanks: readonly number[];
  /** Median step time of the normal workers measured with the same number training at once. */
  readonly measuredStepMs: number;
  readonly stepDelayMs: number;
  readonly leaveRank: number;
  readonly leaveAfterS: number;
  readonly target: number;
  readonly stopAfterS: number;
  readonly fedasyncArgs: readonly string[];
  readonly fedbuffArgs: readonly string[];
}

/** Everything the benchmark measured, as written to docs/bench/comm.json. */
export interface CommResults {
  machine: Record<string, string | number>;
  command: string;
  measuredAt: string;
  loadBefore: number;
  loadAfter: number;
  tta?: { settings: TtaSettings; runs: RunResult[] };
  compression?: { settings: TtaSettings; equalWallS: number; runs: RunResult[] };
  throughput?: { publishers: number; results: ThroughputResult[] };
  memory?: { totalUpdates: number; results: MemoryResult[] };
}

function packageVersion(name: string): string {
  const path = join(ROOT, 'node_modules', name, 'package.json');
  return existsSync(path)
    ? (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version
    : 'missing';
}

function describeMachine(): Record<string, string | number> {
  const binary = findNatsServerBinary();
  const natsVersion = binary
    ? spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout.trim()
    : 'missing';
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    natsServer: natsVersion,
    '@nats-io/jetstream': packageVersion('@nats-io/jetstream'),
    '@tensorflow/tfjs': packageVersion('@tensorflow/tfjs'),
    '@tensorflow/tfjs-backend-wasm': packageVersion('@tensorflow/tfjs-backend-wasm'),
    protobufjs: packageVersion('protobufjs'),
  };
}

async function ttaSettings(): Promise<TtaSettings> {
  const world = 8;
  const slowRanks = [6, 7];
  const localSteps = 31;
  // The workers that compute all the time train at once, as in a run.
  const measuredStepMs = await measureStepMs(world - slowRanks.length, [
    '--local-steps',
    String(localSteps),
  ]);
  return {
    world,
    localSteps,
    slowRanks,
    measuredStepMs,
    // Three more steps' worth of sleep makes a slow worker's step about 4x as long.
    stepDelayMs: Math.round(3 * measuredStepMs),
    leaveRank: 5,
    leaveAfterS: 2,
    target: 0.9,
    stopAfterS: quick ? 40 : 60,
    // One snapshot per world's worth of updates under both rules.
    fedasyncArgs: ['--snapshot-every', String(world)],
    fedbuffArgs: ['--snapshot-every', '1'],
  };
}

function workloadOf(settings: TtaSettings, seed: number): Workload {
  return {
    world: settings.world,
    slowRanks: settings.slowRanks,
    stepDelayMs: settings.stepDelayMs,
    leaveRank: settings.leaveRank,
    leaveAfterS: settings.leaveAfterS,
    localSteps: settings.localSteps,
    seed,
  };
}

function summarize(run: RunResult): string {
  const time = run.timeToTargetS === null ? 'not reached' : `${run.timeToTargetS.toFixed(1)} s`;
  return `${run.system} seed ${run.seed}: ${time}, ${run.updatesPublished} updates, ${run.steps} steps, wall ${run.wallS.toFixed(0)} s`;
}

async function runTta(settings: TtaSettings): Promise<RunResult[]> {
  const runs: RunResult[] = [];
  for (let seed = 1; seed <= seedCount; seed++) {
    const workload = workloadOf(settings, seed);
    const common = { workload, target: settings.target, stopAfterS: settings.stopAfterS };
    runs.push(await runSync({ ...common, logDir: join(logRoot, `tta-sync-${seed}`) }));
    console.error(summarize(runs.at(-1)!));
    runs.push(
      await runAsync({
        ...common,
        rule: 'fedasync',
        aggregatorArgs: settings.fedasyncArgs,
        logDir: join(logRoot, `tta-fedasync-${seed}`),
      })
    );
    console.error(summarize(runs.at(-1)!));
    runs.push(
      await runAsync({
        ...common,
        rule: 'fedbuff',
        aggregatorArgs: settings.fedbuffArgs,
        logDir: join(logRoot, `tta-fedbuff-${seed}`),
      })
    );
    console.error(summarize(runs.at(-1)!));
  }
  return runs;
}

/** Compression settings compared at equal wall time, as worker flags. */
const COMPRESSION_CASES: readonly { label: string; args: string[] }[] = [
  { label: 'float32', args: ['--compression', 'float32'] },
  { label: 'float16', args: ['--compression', 'float16'] },
  { label: 'int8', args: ['--compression', 'int8'] },
  { label: 'topk 1% + error feedback', args: ['--compression', 'topk', '--topk-fraction', '0.01'] },
  {
    label: 'topk 1%, no error feedback',
    args: ['--compression', 'topk', '--topk-fraction', '0.01', '--error-feedback', 'false'],
  },
  { label: 'topk 10% + error feedback', args: ['--compression', 'topk', '--topk-fraction', '0.1'] },
];

async function runCompression(settings: TtaSettings, equalWallS: number): Promise<RunResult[]> {
  const runs: RunResult[] = [];
  for (const { label, args } of COMPRESSION_CASES) {
    runs.push(
      await runAsync({
        rule: 'fedasync',
        workload: workloadOf(settings, 1),
        target: 0,
        stopAfterS: equalWallS,
        aggregatorArgs: settings.fedasyncArgs,
        workerArgs: args,
        label,
        logDir: join(logRoot, `compression-${label.replace(/[^a-z0-9]+/gi, '-')}`),
      })
    );
    console.error(summarize(runs.at(-1)!));
  }
  return runs;
}

async function main(): Promise<void> {
  const previous: Partial<CommResults> = existsSync(jsonPath)
    ? (JSON.parse(readFileSync(jsonPath, 'utf8')) as CommResults)
    : {};
  const results: CommResults = {
    ...previous,
    machine: describeMachine(),
    command: `npm run bench:comm${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    measuredAt: new Date().toISOString(),
    loadBefore: loadavg()[0]!,
    loadAfter: 0,
  };
  mkdirSync(logRoot, { recursive: true });

  if (parts.has('tta') || parts.has('compression')) {
    const settings = await ttaSettings();
    console.error(
      `step ${settings.measuredStepMs.toFixed(1)} ms with ${settings.world - settings.slowRanks.length} training at once; slow ranks sleep ${settings.stepDelayMs} ms per step`
    );
    if (parts.has('tta')) results.tta = { settings, runs: await runTta(settings) };
    if (parts.has('compression')) {
      const equalWallS = quick ? 6 : 8;
      results.compression = {
        settings,
        equalWallS,
        runs: await runCompression(settings, equalWallS),
      };
    }
  }
  if (parts.has('throughput')) {
    const results_ = await measureThroughput(
      quick
        ? [
            { parameters: 100_000, updates: 100 },
            { parameters: 1_000_000, updates: 16 },
          ]
        : undefined,
      quick ? 1 : 3
    );
    results.throughput = { publishers: 4, results: results_ };
    for (const r of results_) {
      console.error(
        `${r.mode} ${r.parameters}: ${r.updatesPerSecond.toFixed(1)} updates/s, ${r.megabytesPerSecond.toFixed(1)} MB/s`
      );
    }
  }
  if (parts.has('memory')) {
    const totalUpdates = quick ? 192 : 384;
    const memory: MemoryResult[] = [];
    for (const workers of [8, 32, 128]) {
      memory.push(await measureMemory(workers, join(logRoot, `memory-${workers}`), totalUpdates));
      console.error(JSON.stringify(memory.at(-1)));
    }
    results.memory = { totalUpdates, results: memory };
  }
  results.loadAfter = loadavg()[0]!;

  const section = renderSection(results);
  console.log(section);
  if (values['no-write']) return;
  mkdirSync(join(docsDir, 'bench'), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
  if (results.tta) {
    writeFileSync(
      svgPath,
      accuracyChart(
        results.tta.runs,
        results.tta.settings.target,
        'Held-out top-1 accuracy against wall time, 8 workers (2 slow, 1 leaving)'
      )
    );
  }
  replaceSection(join(docsDir, 'benchmarks.md'), 'comm-bench', section);
  console.error('wrote docs/benchmarks.md, docs/bench/comm.json and docs/bench/comm-accuracy.svg');
}

await main();
