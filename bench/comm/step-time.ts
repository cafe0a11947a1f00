// Measures the wall time of one local SGD step of the worker's model while other copies of this
// program train at the same time, so that the result includes the CPU contention of a run.
//
//   tsx bench/comm/step-time.ts --steps N [worker flags]
//
// Prints {"ready": true} once warmed up, starts timing when a line arrives on stdin, then prints
// {"rank": R, "meanStepMs": M}.
import { parseArgs } from 'node:util';
import { loadWorkerConfig } from '@asyncfl/config';
import { BatchSampler, createRng, loadDataSplit } from '@asyncfl/data';
import { LocalTrainer, createModel, initBackend } from '@asyncfl/model';

const { values, tokens } = parseArgs({
  options: {
    steps: { type: 'string', default: '100' },
  },
  strict: false,
  tokens: true,
});
const own = new Set(['steps']);
const workerArgs: string[] = [];
for (const token of tokens ?? []) {
  if (token.kind === 'option' && own.has(token.name)) continue;
  if (token.kind === 'option')
    workerArgs.push(token.rawName, ...(token.value ? [token.value] : []));
  if (token.kind === 'positional') workerArgs.push(token.value);
}
const config = loadWorkerConfig({ args: workerArgs, env: {} });
await initBackend(config.backend);
const { train } = loadDataSplit(config.data);
const model = createModel(config.model.name, {
  hidden: [...config.model.hidden],
  seed: config.model.seed,
  inputShape: train.imageShape,
});
const trainer = new LocalTrainer(model, {
  learningRate: config.training.learningRate,
  batchSize: config.training.batchSize,
});
const sampler = new BatchSampler(
  train,
  Uint32Array.from({ length: train.count }, (_, index) => index),
  config.training.batchSize,
  createRng(config.training.seed + config.rank)
);
// Warm-up: the first steps compile kernels and allocate.
trainer.trainSteps(() => sampler.nextBatch(), 10);
console.log(JSON.stringify({ ready: true }));
await new Promise((resolve) => process.stdin.once('data', resolve));
process.stdin.pause();
const steps = Number(values.steps);
const startedAt = performance.now();
trainer.trainSteps(() => sampler.nextBatch(), steps);
const meanStepMs = (performance.now() - startedAt) / steps;
console.log(JSON.stringify({ rank: config.rank, meanStepMs }));
