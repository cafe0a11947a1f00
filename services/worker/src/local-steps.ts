import type { Batch, LocalTrainer, TrainStepsResult } from '@asyncfl/model';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `steps` local SGD steps. With `stepDelayMs > 0` the worker sleeps that long after each
 * step, which simulates a slower device. The sleep yields the CPU, so a simulated slow device
 * does not slow down the other processes on the machine.
 */
export async function trainLocalSteps(
  trainer: Pick<LocalTrainer, 'trainSteps'>,
  nextBatch: () => Batch,
  steps: number,
  stepDelayMs: number
): Promise<TrainStepsResult> {
  if (stepDelayMs <= 0) return trainer.trainSteps(nextBatch, steps);
  let lossSum = 0;
  let examples = 0;
  for (let step = 0; step < steps; step++) {
    const result = trainer.trainSteps(nextBatch, 1);
    await sleep(stepDelayMs);
    // A DP-SGD step may draw an empty batch, whose mean loss is NaN.
    if (result.examples > 0) lossSum += result.meanLoss * result.examples;
    examples += result.examples;
  }
  return { meanLoss: examples > 0 ? lossSum / examples : Number.NaN, examples };
}

/**
 * Runs `steps` training steps on a batch of zeros and returns the milliseconds they took. The
 * first steps of a process are slow while the backend compiles its kernels, so a worker warms up
 * before its first real update. The steps change the model's weights, so the caller must set the
 * weights it trains from afterwards (the worker loads a snapshot before every update).
 */
export function warmUpTraining(
  trainer: Pick<LocalTrainer, 'trainSteps'>,
  inputSize: number,
  batchSize: number,
  steps = 3
): number {
  const batch: Batch = {
    x: new Float32Array(batchSize * inputSize),
    y: new Uint8Array(batchSize),
    size: batchSize,
  };
  const startedAt = performance.now();
  trainer.trainSteps(() => batch, steps);
  return performance.now() - startedAt;
}
