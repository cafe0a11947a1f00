import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Batch, LocalTrainer, TrainStepsResult } from '@asyncfl/model';
import { trainLocalSteps, warmUpTraining } from './local-steps';

const STEP_MS = 15;

/** A trainer whose every step spins for STEP_MS of wall time and has the count of steps so far as loss. */
function spinningTrainer(): { trainer: LocalTrainer; calls: number[] } {
  const calls: number[] = [];
  const trainer = {
    trainSteps(nextBatch: () => Batch, steps: number): TrainStepsResult {
      let lossSum = 0;
      let examples = 0;
      for (let i = 0; i < steps; i++) {
        const batch = nextBatch();
        const until = performance.now() + STEP_MS;
        while (performance.now() < until);
        calls.push(steps);
        lossSum += calls.length * batch.size;
        examples += batch.size;
      }
      return { meanLoss: lossSum / examples, examples };
    },
  } as unknown as LocalTrainer;
  return { trainer, calls };
}

let batchSize = 0;
const nextBatch = (): Batch => {
  batchSize = (batchSize % 3) + 1;
  return { x: new Float32Array(0), y: new Uint8Array(0), size: batchSize };
};

async function timed(delayMs: number): Promise<{ ms: number; result: TrainStepsResult }> {
  const { trainer } = spinningTrainer();
  const startedAt = performance.now();
  const result = await trainLocalSteps(trainer, nextBatch, 6, delayMs);
  return { ms: performance.now() - startedAt, result };
}

test('step delay adds its sleep to every step', async () => {
  const delayMs = 3 * STEP_MS;
  const slow = await timed(delayMs);
  // Only a lower bound: load can stretch any run, but sleeps and spins never end early.
  // Timers may fire up to 1 ms before their nominal time, so allow that per step.
  const floor = 6 * (STEP_MS + delayMs - 1);
  assert.ok(slow.ms >= floor, `6 delayed steps took ${slow.ms} ms, less than ${floor} ms`);
});

test('delayed steps report the same loss and examples', async () => {
  batchSize = 0;
  const plain = await timed(0);
  batchSize = 0;
  const slow = await timed(1);
  assert.equal(slow.result.examples, plain.result.examples);
  assert.equal(slow.result.meanLoss, plain.result.meanLoss);
});

test('delayed steps run one step per call', async () => {
  const { trainer, calls } = spinningTrainer();
  await trainLocalSteps(trainer, nextBatch, 4, 1);
  assert.deepEqual(calls, [1, 1, 1, 1]);
});

test('warm-up trains on zero batches', () => {
  const batches: Batch[] = [];
  const trainer = {
    trainSteps(next: () => Batch, steps: number): TrainStepsResult {
      for (let i = 0; i < steps; i++) batches.push(next());
      return { meanLoss: 0, examples: 0 };
    },
  };
  const ms = warmUpTraining(trainer, 784, 32, 2);
  assert.ok(ms >= 0);
  assert.equal(batches.length, 2);
  for (const batch of batches) {
    assert.equal(batch.size, 32);
    assert.equal(batch.x.length, 32 * 784);
    assert.equal(batch.y.length, 32);
    assert.ok(batch.x.every((value) => value === 0));
    assert.ok(batch.y.every((label) => label === 0));
  }
});
