/**
 * Measures one local SGD step (`LocalTrainer.trainStep`, the call that workers make) for each
 * model at batch 32 and 64 on every available tfjs backend, as time per step, ratio to the 'cpu'
 * backend in the same run and achieved GFLOP/s (from `countTrainingFlops`). Then measures how
 * the total step throughput scales with 1, 2 and 4 worker processes on this host.
 *
 *   npm run bench:model                  # about 20 minutes, most of it the cpu backend's CNN steps
 *   npm run bench:model -- --quick       # smoke run: short timings, no CNN steps on cpu
 *   npm run bench:model -- --no-write    # print only, leave docs/benchmarks.md alone
 *
 * Writes its section of docs/benchmarks.md between the model-bench markers.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  countTrainingFlops,
  createModel,
  initBackend,
  LocalTrainer,
  type BackendPreference,
  type ModelName,
} from '@asyncfl/model';
import { replaceSection } from '../../../scripts/benchmark-section';

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const WRITE = !args.includes('--no-write') && !QUICK;

/** Timed seconds per configuration, after warm-up. */
const MIN_SECONDS = QUICK ? 0.3 : 3;
const MIN_STEPS = 3;
const MAX_STEPS = 200;
/** A first step slower than this is taken as the measurement, without further steps. */
const SINGLE_STEP_MS = 5_000;
const SCALING_SECONDS = QUICK ? 1.5 : 8;
const SCALING_WORKERS = [1, 2, 4];

interface ModelCase {
  readonly label: string;
  readonly name: ModelName;
  readonly hidden: readonly number[];
}

const MODEL_CASES: readonly ModelCase[] = [
  { label: 'MLP 784-128-10 (default)', name: 'mlp', hidden: [128] },
  { label: 'MLP 784-200-200-10', name: 'mlp', hidden: [200, 200] },
  { label: 'lenet (CNN, MNIST)', name: 'lenet', hidden: [128] },
  { label: 'cifar-cnn (CNN, CIFAR-10)', name: 'cifar-cnn', hidden: [128] },
];
const BATCH_SIZES = [32, 64];
const BACKENDS: readonly BackendPreference[] = ['tensorflow', 'wasm', 'cpu'];

interface StepTiming {
  /** Median milliseconds per step. */
  readonly ms: number;
  /** Fastest step, in milliseconds: the least disturbed by other processes on the machine. */
  readonly minMs: number;
  readonly steps: number;
}

/** Runs `trainStep` on one fixed random batch and returns the median step time. */
function timeSteps(modelCase: ModelCase, batchSize: number): StepTiming {
  const model = createModel(modelCase.name, { hidden: modelCase.hidden, seed: 1 });
  const trainer = new LocalTrainer(model, { learningRate: 0.01, batchSize });
  const inputSize = (model.inputs[0]!.shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
  const x = Float32Array.from(
    { length: batchSize * inputSize },
    (_, i) => ((i * 7919) % 256) / 255
  );
  const labels = Uint8Array.from({ length: batchSize }, (_, i) => i % 10);
  try {
    const start = performance.now();
    trainer.trainStep(x, labels, batchSize);
    const first = performance.now() - start;
    if (first > SINGLE_STEP_MS) return { ms: first, minMs: first, steps: 1 };

    trainer.trainStep(x, labels, batchSize);
    const times: number[] = [];
    const began = performance.now();
    while (
      times.length < MAX_STEPS &&
      (times.length < MIN_STEPS || performance.now() - began < MIN_SECONDS * 1000)
    ) {
      const stepStart = performance.now();
      trainer.trainStep(x, labels, batchSize);
      times.push(performance.now() - stepStart);
    }
    return { ms: median(times), minMs: Math.min(...times), steps: times.length };
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

interface StepRow {
  readonly backend: string;
  readonly modelCase: ModelCase;
  readonly batchSize: number;
  readonly timing: StepTiming | undefined;
  readonly gflop: number;
}

async function measureSteps(): Promise<{ rows: StepRow[]; backendNotes: string[] }> {
  const rows: StepRow[] = [];
  const backendNotes: string[] = [];
  for (const backend of BACKENDS) {
    try {
      const selection = await initBackend(backend);
      backendNotes.push(`${backend}: ${selection.reason}`);
    } catch (error) {
      backendNotes.push(`${backend}: not measured, ${(error as Error).message}`);
      continue;
    }
    for (const modelCase of MODEL_CASES) {
      const flops = countTrainingFlops(createModel(modelCase.name, { hidden: modelCase.hidden }));
      for (const batchSize of BATCH_SIZES) {
        const skip = QUICK && backend === 'cpu' && modelCase.name !== 'mlp';
        const timing = skip ? undefined : timeSteps(modelCase, batchSize);
        const gflop = (flops.total * batchSize) / 1e9;
        rows.push({ backend, modelCase, batchSize, timing, gflop });
        const shown = timing === undefined ? 'skipped' : `${timing.ms.toFixed(1)} ms`;
        console.error(`${backend} ${modelCase.label} batch ${batchSize}: ${shown}`);
      }
    }
  }
  return { rows, backendNotes };
}

function formatStepTable(rows: readonly StepRow[]): string {
  const cpuMs = new Map<string, number>();
  for (const row of rows) {
    if (row.backend === 'cpu' && row.timing) {
      cpuMs.set(`${row.modelCase.label}/${row.batchSize}`, row.timing.ms);
    }
  }
  const lines = [
    '| model | batch | backend | ms/step (median) | fastest step (ms) | steps timed | speed-up over cpu | GFLOP/step | GFLOP/s |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of rows) {
    const reference = cpuMs.get(`${row.modelCase.label}/${row.batchSize}`);
    const ms = row.timing?.ms;
    const cells = [
      row.modelCase.label,
      String(row.batchSize),
      row.backend,
      ms === undefined ? 'skipped' : ms.toFixed(1),
      row.timing ? row.timing.minMs.toFixed(1) : '',
      row.timing ? String(row.timing.steps) : '',
      ms === undefined || reference === undefined ? '' : `${(reference / ms).toFixed(1)}x`,
      row.gflop.toFixed(3),
      ms === undefined ? '' : (row.gflop / (ms / 1000)).toFixed(2),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

// ----- Throughput with several worker processes -----

interface ChildResult {
  readonly steps: number;
  readonly seconds: number;
}

/**
 * Child side: sets up the wasm backend and a trainer, reports ready, waits for the start
 * message, then trains for `seconds` and reports the step count.
 */
async function runChild(modelName: ModelName, batchSize: number, seconds: number): Promise<void> {
  await initBackend('wasm');
  const model = createModel(modelName, { seed: 1 });
  const trainer = new LocalTrainer(model, { learningRate: 0.01, batchSize });
  const inputSize = (model.inputs[0]!.shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
  const x = Float32Array.from(
    { length: batchSize * inputSize },
    (_, i) => ((i * 7919) % 256) / 255
  );
  const labels = Uint8Array.from({ length: batchSize }, (_, i) => i % 10);
  for (let i = 0; i < 3; i++) trainer.trainStep(x, labels, batchSize);
  process.send!({ ready: true });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  const began = performance.now();
  let steps = 0;
  while (performance.now() - began < seconds * 1000) {
    trainer.trainStep(x, labels, batchSize);
    steps++;
  }
  const result: ChildResult = { steps, seconds: (performance.now() - began) / 1000 };
  process.send!(result, () => process.exit(0));
}

/** Starts `count` children, starts them together once all are ready, and sums their rates. */
async function measureThroughput(
  modelName: ModelName,
  batchSize: number,
  count: number
): Promise<number> {
  const script = fileURLToPath(import.meta.url);
  const children = Array.from({ length: count }, () =>
    fork(script, ['--child', modelName, String(batchSize), String(SCALING_SECONDS)], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    })
  );
  await Promise.all(
    children.map((child) => new Promise<void>((resolve) => child.once('message', () => resolve())))
  );
  const results = children.map(
    (child) =>
      new Promise<ChildResult>((resolve, reject) => {
        child.once('message', (message) => resolve(message as ChildResult));
        child.once('exit', (code) => reject(new Error(`benchmark child exited with ${code}`)));
      })
  );
  for (const child of children) child.send({ start: true });
  const rates = (await Promise.all(results)).map((result) => result.steps / result.seconds);
  return rates.reduce((a, b) => a + b, 0);
}

async function measureScaling(): Promise<string> {
  const lines = [
    '| model | batch | worker processes | steps/s in total | relative to 1 process |',
    '| --- | ---: | ---: | ---: | ---: |',
  ];
  for (const modelName of ['mlp', 'lenet'] as const) {
    const batchSize = 32;
    let single = 0;
    for (const count of SCALING_WORKERS) {
      const rate = await measureThroughput(modelName, batchSize, count);
      if (count === 1) single = rate;
      console.error(`${modelName} with ${count} processes: ${rate.toFixed(1)} steps/s`);
      lines.push(
        `| ${modelName} | ${batchSize} | ${count} | ${rate.toFixed(1)} | ${(rate / single).toFixed(2)} |`
      );
    }
  }
  return lines.join('\n');
}

// ----- Report -----

function describeMachine(): string {
  const processors = cpus();
  const memoryGiB = (totalmem() / 2 ** 30).toFixed(0);
  const lockFile = new URL('../../../package-lock.json', import.meta.url);
  const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as {
    packages: Record<string, { version?: string }>;
  };
  const version = (name: string) => lock.packages[`node_modules/${name}`]?.version ?? 'unknown';
  return (
    `${processors.length} x ${processors[0]?.model ?? 'unknown CPU'}, ${memoryGiB} GiB memory, ` +
    `Node ${process.versions.node}, @tensorflow/tfjs ${version('@tensorflow/tfjs')}, ` +
    `@tensorflow/tfjs-backend-wasm ${version('@tensorflow/tfjs-backend-wasm')}`
  );
}

async function main(): Promise<void> {
  if (args[0] === '--child') {
    await runChild(args[1] as ModelName, Number(args[2]), Number(args[3]));
    return;
  }
  const loadBefore = loadavg()[0]!;
  const started = new Date();
  const { rows, backendNotes } = await measureSteps();
  const scaling = await measureScaling();
  const loadAfter = loadavg()[0]!;

  const section = [
    '## Worker step time',
    '',
    `Measured ${started.toISOString().slice(0, 10)} with \`npm run bench:model\` on ` +
      `${describeMachine()}. One-minute load average ${loadBefore.toFixed(1)} before and ` +
      `${loadAfter.toFixed(1)} after the run: other engineers' test runs shared the machine, so ` +
      'absolute times vary between runs, and the ratios, measured minutes apart, vary too.',
    '',
    'Each row times `LocalTrainer.trainStep` on one fixed batch: forward pass, softmax ' +
      'cross-entropy, gradients and the SGD update. The median covers at least ' +
      `${MIN_STEPS} steps and ${MIN_SECONDS} s after two warm-up steps, except where a first ` +
      `step took over ${SINGLE_STEP_MS / 1000} s, which is then the only step timed. Speed-up ` +
      'and GFLOP/s use the median. GFLOP/step ' +
      'counts 2 per multiply-add of the Dense and Conv2D layers in the forward pass, the kernel ' +
      'gradient and the input gradient (none for the first layer); biases, activations, pooling ' +
      'and the loss are not counted.',
    '',
    formatStepTable(rows),
    '',
    'Backends:',
    '',
    ...backendNotes.map((note) => `- ${note}`),
    '',
    '### Throughput with several workers on one host',
    '',
    `Each worker is a separate process on the wasm backend, training for ${SCALING_SECONDS} s ` +
      'after all of them finished their warm-up; the table sums their steps per second.',
    '',
    scaling,
  ].join('\n');

  console.log(section);
  if (WRITE) {
    replaceSection(new URL('../../../docs/benchmarks.md', import.meta.url), 'model-bench', section);
    console.error('wrote docs/benchmarks.md');
  }
}

await main();
