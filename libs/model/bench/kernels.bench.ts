/**
 * Profiles one training step per model on the wasm backend kernel by kernel, once with tfjs's
 * own kernels (plus the project's Conv2DBackpropFilter, without which no CNN trains there) and
 * once with all of the project's kernels, each in a fresh process because the kernel registry
 * is global.
 *
 *   npm run bench:kernels                # about 2 minutes
 *   npm run bench:kernels -- --no-write  # print only
 *
 * Writes its section of docs/benchmarks.md between the kernel-profile markers.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { createModel, initBackend, LocalTrainer, type ModelName } from '@asyncfl/model';
import { replaceSection } from '../../../scripts/benchmark-section';
import { conv2DBackpropFilter } from '../src/wasm-kernels';

const args = process.argv.slice(2);
const WRITE = !args.includes('--no-write');
const BATCH_SIZE = 64;
const PROFILED_STEPS = 5;
const MODELS: readonly ModelName[] = ['mlp', 'lenet', 'cifar-cnn'];
const SHOWN_KERNELS = 6;

type Mode = 'tfjs' | 'project';

/** Median milliseconds per step, in total and per kernel name. */
interface Profile {
  readonly stepMs: number;
  readonly kernelMs: Record<string, number>;
}

async function setUpBackend(mode: Mode): Promise<void> {
  if (mode === 'project') {
    await initBackend('wasm');
    return;
  }
  await import('@tensorflow/tfjs-backend-wasm');
  tf.registerKernel({
    kernelName: tf.Conv2DBackpropFilter,
    backendName: 'wasm',
    kernelFunc: conv2DBackpropFilter as unknown as tf.KernelFunc,
  });
  await tf.setBackend('wasm');
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function profileModel(name: ModelName): Promise<Profile> {
  const model = createModel(name, { seed: 1 });
  const trainer = new LocalTrainer(model, { learningRate: 0.01, batchSize: BATCH_SIZE });
  const inputSize = (model.inputs[0]!.shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
  const x = Float32Array.from(
    { length: BATCH_SIZE * inputSize },
    (_, i) => ((i * 7919) % 256) / 255
  );
  const labels = Uint8Array.from({ length: BATCH_SIZE }, (_, i) => i % 10);
  for (let i = 0; i < 2; i++) trainer.trainStep(x, labels, BATCH_SIZE);

  const stepTimes: number[] = [];
  const kernelTimes = new Map<string, number[]>();
  for (let step = 0; step < PROFILED_STEPS; step++) {
    const start = performance.now();
    const info = await tf.profile(() => {
      trainer.trainStep(x, labels, BATCH_SIZE);
    });
    stepTimes.push(performance.now() - start);
    const perKernel = new Map<string, number>();
    for (const kernel of info.kernels) {
      const ms = await kernel.kernelTimeMs;
      const value = typeof ms === 'number' ? ms : 0;
      perKernel.set(kernel.name, (perKernel.get(kernel.name) ?? 0) + value);
    }
    for (const [kernelName, ms] of perKernel) {
      kernelTimes.set(kernelName, [...(kernelTimes.get(kernelName) ?? []), ms]);
    }
  }
  trainer.dispose();
  model.dispose();
  const kernelMs: Record<string, number> = {};
  for (const [kernelName, times] of kernelTimes) kernelMs[kernelName] = median(times);
  return { stepMs: median(stepTimes), kernelMs };
}

async function runChild(mode: Mode): Promise<void> {
  await setUpBackend(mode);
  const profiles: Record<string, Profile> = {};
  for (const name of MODELS) profiles[name] = await profileModel(name);
  process.send!(profiles, () => process.exit(0));
}

function profileIn(mode: Mode): Promise<Record<string, Profile>> {
  const child = fork(fileURLToPath(import.meta.url), ['--child', mode], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve(message as Record<string, Profile>));
    child.once('exit', (code) => reject(new Error(`profiling child exited with ${code}`)));
  });
}

function formatRows(mode: Mode, name: string, profile: Profile): string {
  const kernels = Object.entries(profile.kernelMs)
    .sort((a, b) => b[1] - a[1])
    .slice(0, SHOWN_KERNELS)
    .map(([kernelName, ms]) => `${kernelName} ${ms.toFixed(1)}`)
    .join(', ');
  return `| ${name} | ${mode === 'tfjs' ? "tfjs's" : "project's"} | ${profile.stepMs.toFixed(1)} | ${kernels} |`;
}

async function main(): Promise<void> {
  if (args[0] === '--child') {
    await runChild(args[1] as Mode);
    return;
  }
  const tfjsProfiles = await profileIn('tfjs');
  const projectProfiles = await profileIn('project');
  const rows: string[] = [];
  for (const name of MODELS) {
    rows.push(formatRows('tfjs', name, tfjsProfiles[name]!));
    rows.push(formatRows('project', name, projectProfiles[name]!));
  }
  const section = [
    '## Wasm kernel profile of a training step',
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench:kernels\` on the ` +
      'machine of the step-time table, shared in the same way. One `LocalTrainer.trainStep` at ' +
      `batch ${BATCH_SIZE} on the wasm backend, profiled with \`tf.profile\`: the median of ` +
      `${PROFILED_STEPS} steps, in total and for the ${SHOWN_KERNELS} slowest kernels, in ` +
      "milliseconds. \"tfjs's\" is tfjs 4.22's own wasm kernels plus the project's " +
      'Conv2DBackpropFilter, which tfjs lacks; "project\'s" adds the project\'s ' +
      'Conv2DBackpropInput, BatchMatMul and MaxPoolGrad. Profiling adds a little time to each ' +
      'step.',
    '',
    '| model | kernels | ms/step | slowest kernels (ms) |',
    '| --- | --- | ---: | --- |',
    ...rows,
  ].join('\n');
  console.log(section);
  if (WRITE) {
    replaceSection(
      new URL('../../../docs/benchmarks.md', import.meta.url),
      'kernel-profile',
      section
    );
    console.error('wrote docs/benchmarks.md');
  }
}

await main();
