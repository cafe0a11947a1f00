import type { Batch, LocalTrainer, TrainStepsResult } from '@asyncfl/model';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `steps` local SGD steps. With `delayFactor > 0` the worker sleeps `delayFactor` times each
 * step's measured duration after it, which simulates a slower device: 3 makes every step take 4x
 * as long. The sleep yields the CPU, so other processes on the machine run meanwhile.
 */
export async function trainLocalSteps(
  trainer: LocalTrainer,
  nextBatch: () => Batch,
  steps: number,
  delayFactor: number
): Promise<TrainStepsResult> {
  if (delayFactor <= 0) return trainer.trainSteps(nextBatch, steps);
  let lossSum = 0;
  let examples = 0;
  for (let step = 0; step < steps; step++) {
    const startedAt = performance.now();
    const result = trainer.trainSteps(nextBatch, 1);
    await sleep(delayFactor * (performance.now() - startedAt));
    lossSum += result.meanLoss * result.examples;
    examples += result.examples;
  }
  return { meanLoss: lossSum / examples, examples };
}
