// Communication benchmarks: time to accuracy of FedAsync and FedBuff against synchronous FedAvg
// with slow and departing workers, pipeline throughput against raw JetStream, bytes and accuracy
// per update compression, and aggregator memory per worker.
//
//   npm run bench:comm -- [--quick] [--seeds N] [--no-write] [--render]
//                         [--only tta,tta-device,compression,throughput,memory]
//
// Writes docs/bench/comm.json, the accuracy charts docs/bench/comm-accuracy*.svg and the
// comm-bench section of docs/benchmarks.md. With --only, the other parts keep their previous
// results from the JSON.
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
import {
  PUBLISHERS,
  measureProcessing,
  measureThroughput,
  type ProcessingCost,
  type ThroughputResult,
} from './throughput';

const PARTS = ['tta', 'tta-device', 'compression', 'throughput', 'memory'] as const;
type Part = (typeof PARTS)[number];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seeds: { type: 'string' },
    only: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    render: { type: 'boolean', default: false },
    'log-dir': { type: 'string', default: 'runs/bench-comm' },
  },
  strict: true,
});

const quick = values.quick!;
const seedCount = Number(values.seeds ?? (quick ? 1 : 3));
// --render measures nothing and renders the docs again from docs/bench/comm.json.
let requested: Part[] = [...PARTS];
if (values.only) requested = values.only.split(',') as Part[];
if (values.render) requested = [];
const parts = new Set<Part>(requested);
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
const deviceSvgPath = join(docsDir, 'bench', 'comm-accuracy-device.svg');

/**
 * Simulated compute time of one local step on a worker's own device, in the scenario where
 * every worker sleeps instead of sharing this machine's CPUs for most of its step.
 */
const DEVICE_STEP_MS = 60;

/** Settings of the time-to-accuracy and compression runs. */
export interface TtaSettings {
  readonly world: number;
  readonly localSteps: number;
  readonly slowRanks: readonly number[];
  /** Median step time of the normal workers measured with the same number training at once. */
  readonly measuredStepMs: number;
  /** Sleep after each local step of a slow rank. */
  readonly stepDelayMs: number;
  /** Sleep after each local step of every other rank: 0, or DEVICE_STEP_MS. */
  readonly normalStepDelayMs: number;
  readonly leaveRank: number;
  readonly leaveAfterS: number;
  readonly target: number;
  /** Time limit of the asynchronous runs when the baseline missed the target. */
  readonly stopAfterS: number;
  /**
   * Time limit of the baseline. Nothing evaluates the model during a run, so the baseline runs
   * this long after its first update.
   */
  readonly baselineStopAfterS: number;
  /** Aggregator flags of FedAsync, which the compression runs use too. */
  readonly fedasyncArgs: readonly string[];
  /** Asynchronous configurations compared with the baseline, in table order. */
  readonly asyncSystems: readonly AsyncSystem[];
}

/** One asynchronous configuration: the rule, the aggregator flags and the name in results. */
export interface AsyncSystem {
  readonly system: string;
  readonly rule: 'fedasync' | 'fedbuff';
  readonly args: readonly string[];
  /** Reason for the flags, shown in docs/benchmarks.md. */
  readonly description: string;
}

/** When and how one part was measured, with the one-minute load average around it. */
export interface PartRun {
  command: string;
  measuredAt: string;
  loadBefore: number;
  loadAfter: number;
}

/** Everything the benchmark measured, as written to docs/bench/comm.json. */
export interface CommResults {
  machine: Record<string, string | number>;
  tta?: { measured: PartRun; settings: TtaSettings; runs: RunResult[] };
  ttaDevice?: { measured: PartRun; settings: TtaSettings; runs: RunResult[] };
  compression?: { measured: PartRun; settings: TtaSettings; equalWallS: number; runs: RunResult[] };
  throughput?: {
    measured: PartRun;
    publishers: number;
    results: ThroughputResult[];
    processing: ProcessingCost[];
  };
  memory?: { measured: PartRun; totalUpdates: number; results: MemoryResult[] };
}

const command = `npm run bench:comm${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;

/** Runs one part and records when, by which command and under which load. */
async function measurePart<T extends object>(
  run: () => Promise<T>
): Promise<T & { measured: PartRun }> {
  const measuredAt = new Date().toISOString();
  const loadBefore = loadavg()[0]!;
  const value = await run();
  return { ...value, measured: { command, measuredAt, loadBefore, loadAfter: loadavg()[0]! } };
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

const WORLD = 8;
const SLOW_RANKS = [6, 7];

const FEDBUFF_K3 = ['--buffer-size', '3', '--snapshot-every', '1'];
const FEDBUFF_K4 = ['--buffer-size', '4', '--snapshot-every', '1'];

/** Asynchronous configurations of the time-to-accuracy runs. */
const ASYNC_SYSTEMS: readonly AsyncSystem[] = [
  {
    system: 'fedasync',
    rule: 'fedasync',
    args: [],
    description:
      'the service defaults: alpha 0.6, polynomial staleness a = 0.5, a snapshot every 2 versions or 250 ms',
  },
  {
    system: 'fedbuff',
    rule: 'fedbuff',
    args: FEDBUFF_K3,
    description:
      'a flush and a snapshot every 3 updates, about half of the workers running at full speed. The default buffer of 8 would wait for the slow ranks. Otherwise the defaults: server learning rate 1, SGD, polynomial staleness a = 0.5. K = 3 was chosen by hand trials with `bench/comm/tta-probe.ts` on this workload (see the notes below)',
  },
  {
    system: 'fedbuff-k4',
    rule: 'fedbuff',
    args: FEDBUFF_K4,
    description: 'FedBuff as above with K = 4',
  },
];

/**
 * Returns the workload settings. With `normalStepDelayMs` 0 the workers compute on this
 * machine's CPUs alone, and a slow rank sleeps three steps' worth after each step. Otherwise every
 * rank sleeps that long per step as if computing on its own device, and a slow rank sleeps so
 * that its step takes 4x the normal one.
 */
function ttaSettings(measuredStepMs: number, normalStepDelayMs: number): TtaSettings {
  const world = WORLD;
  const slowRanks = SLOW_RANKS;
  const localSteps = 31;
  const normalStepMs = measuredStepMs + normalStepDelayMs;
  return {
    world,
    localSteps,
    slowRanks,
    measuredStepMs,
    stepDelayMs: Math.round(4 * normalStepMs - measuredStepMs),
    normalStepDelayMs,
    leaveRank: 5,
    leaveAfterS: 2,
    target: 0.9,
    // Device time makes every run slower, the baseline most.
    stopAfterS: normalStepDelayMs > 0 ? 120 : 60,
    // About 3x the baseline's time to 90% in the runs of docs/benchmarks.md.
    baselineStopAfterS: normalStepDelayMs > 0 ? 60 : 12,
    fedasyncArgs: [],
    asyncSystems: ASYNC_SYSTEMS,
  };
}

function workloadOf(settings: TtaSettings, seed: number): Workload {
  return {
    world: settings.world,
    slowRanks: settings.slowRanks,
    stepDelayMs: settings.stepDelayMs,
    normalStepDelayMs: settings.normalStepDelayMs,
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

/**
 * Returns the time limit of the asynchronous runs of a seed: 1.5x the baseline's time to the
 * target, so that a run that does not reach the target by then is slower than 1/1.5 of the
 * baseline's speed. The whole budget applies when the baseline missed the target.
 */
function asyncTimeLimit(baselineS: number | null, budgetS: number): number {
  return baselineS === null ? budgetS : Math.min(budgetS, Math.max(1, 1.5 * baselineS));
}

async function runTta(settings: TtaSettings, name: string): Promise<RunResult[]> {
  const runs: RunResult[] = [];
  for (let seed = 1; seed <= seedCount; seed++) {
    const workload = workloadOf(settings, seed);
    const common = { workload, target: settings.target, stopAfterS: settings.stopAfterS };
    const baseline = await runSync({
      ...common,
      stopAfterS: settings.baselineStopAfterS,
      logDir: join(logRoot, `${name}-sync-${seed}`),
    });
    runs.push(baseline);
    console.error(summarize(baseline));
    // Nothing evaluates an asynchronous run while it trains, so it runs to its time limit.
    const asyncStopAfterS = asyncTimeLimit(baseline.timeToTargetS, settings.stopAfterS);
    for (const { system, rule, args } of settings.asyncSystems) {
      runs.push(
        await runAsync({
          ...common,
          stopAfterS: asyncStopAfterS,
          rule,
          aggregatorArgs: args,
          label: system,
          logDir: join(logRoot, `${name}-${system}-${seed}`),
        })
      );
      console.error(summarize(runs.at(-1)!));
    }
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
  // Seeds in the outer loop, so that a drift in the machine's load affects every setting alike.
  for (let seed = 1; seed <= seedCount; seed++) {
    for (const { label, args } of COMPRESSION_CASES) {
      runs.push(
        await runAsync({
          rule: 'fedasync',
          workload: workloadOf(settings, seed),
          target: 0,
          stopAfterS: equalWallS,
          aggregatorArgs: settings.fedasyncArgs,
          workerArgs: args,
          label,
          logDir: join(logRoot, `compression-${label.replace(/[^a-z0-9]+/gi, '-')}-${seed}`),
        })
      );
      console.error(summarize(runs.at(-1)!));
    }
  }
  return runs;
}

async function main(): Promise<void> {
  const previous: Partial<CommResults> = existsSync(jsonPath)
    ? (JSON.parse(readFileSync(jsonPath, 'utf8')) as CommResults)
    : {};
  // Parts recorded without their run description come from an older format and are dropped.
  const kept = Object.fromEntries(
    Object.entries(previous).filter(
      ([key, value]) => key !== 'machine' && typeof value === 'object' && 'measured' in value
    )
  );
  const results: CommResults = { ...kept, machine: describeMachine() };
  mkdirSync(logRoot, { recursive: true });

  if (parts.has('tta') || parts.has('tta-device') || parts.has('compression')) {
    // The ranks that compute all the time train at once, as in a run.
    const measuredStepMs = await measureStepMs(WORLD - SLOW_RANKS.length, []);
    const settings = ttaSettings(measuredStepMs, 0);
    console.error(
      `step ${measuredStepMs.toFixed(1)} ms with ${WORLD - SLOW_RANKS.length} training at once; slow ranks sleep ${settings.stepDelayMs} ms per step`
    );
    if (parts.has('tta')) {
      results.tta = await measurePart(async () => ({
        settings,
        runs: await runTta(settings, 'tta'),
      }));
    }
    if (parts.has('tta-device')) {
      const device = ttaSettings(measuredStepMs, DEVICE_STEP_MS);
      results.ttaDevice = await measurePart(async () => ({
        settings: device,
        runs: await runTta(device, 'tta-device'),
      }));
    }
    if (parts.has('compression')) {
      const equalWallS = quick ? 6 : 8;
      results.compression = await measurePart(async () => ({
        settings,
        equalWallS,
        runs: await runCompression(settings, equalWallS),
      }));
    }
  }
  if (parts.has('throughput')) {
    results.throughput = await measurePart(async () => ({
      publishers: PUBLISHERS,
      results: await measureThroughput(
        quick
          ? [
              { parameters: 100_000, updates: 100 },
              { parameters: 1_000_000, updates: 16 },
            ]
          : undefined,
        quick ? 1 : 5
      ),
      // 1 MiB, the default max_payload of nats-server, which the local server keeps.
      processing: [100_000, 1_000_000].map((parameters) =>
        measureProcessing(parameters, 1024 * 1024)
      ),
    }));
    for (const r of results.throughput.results) {
      console.error(
        `${r.mode} ${r.parameters}: ${r.updatesPerSecond.toFixed(1)} updates/s, ${r.megabytesPerSecond.toFixed(1)} MB/s`
      );
    }
  }
  if (parts.has('memory')) {
    const totalUpdates = quick ? 192 : 384;
    results.memory = await measurePart(async () => {
      const memory: MemoryResult[] = [];
      for (const workers of [8, 32, 128]) {
        memory.push(await measureMemory(workers, join(logRoot, `memory-${workers}`), totalUpdates));
        console.error(JSON.stringify(memory.at(-1)));
      }
      return { totalUpdates, results: memory };
    });
  }

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
        '8 workers on 2 shared cores (2 slow, 1 leaving)'
      )
    );
  }
  if (results.ttaDevice) {
    writeFileSync(
      deviceSvgPath,
      accuracyChart(
        results.ttaDevice.runs,
        results.ttaDevice.settings.target,
        '8 workers with simulated device time (2 slow, 1 leaving)'
      )
    );
  }
  replaceSection(join(docsDir, 'benchmarks.md'), 'comm-bench', section);
  console.error('wrote docs/benchmarks.md, docs/bench/comm.json and docs/bench/comm-accuracy.svg');
}

await main();
