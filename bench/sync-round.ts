// Round logic of the synchronous FedAvg baseline (bench/sync-fedavg.ts), kept apart from its
// processes so that unit tests can check it.
import type { ModelSpec, TensorMap } from '@asyncfl/protocol';

/** Returns the median of `values`, the mean of the two middle values for an even count. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Returns the time at which a round closes: `startedAt` once `expected` workers have sent their
 * updates, otherwise `startedAt` plus `timeoutMultiple` times the median latency of the updates
 * received. Before the first update the round has no deadline (Infinity).
 */
export function roundClosesAt(
  startedAt: number,
  updateLatenciesMs: readonly number[],
  expected: number,
  timeoutMultiple: number
): number {
  if (updateLatenciesMs.length >= expected) return startedAt;
  if (updateLatenciesMs.length === 0) return Number.POSITIVE_INFINITY;
  return startedAt + timeoutMultiple * median(updateLatenciesMs);
}

/** One worker's update for a round: deltas of trainable tensors, values of the others. */
export interface RoundUpdate {
  readonly delta: TensorMap;
  readonly examples: number;
}

/**
 * Applies FedAvg to `weights` in place: the example-weighted mean of the workers' models, from
 * their deltas (w - sum share * delta). Tensors that are not trainable arrive as values and
 * become the example-weighted mean of those values. Leaves `weights` unchanged without updates.
 */
export function federatedAverage(
  weights: TensorMap,
  spec: ModelSpec,
  updates: readonly RoundUpdate[]
): void {
  const totalExamples = updates.reduce((sum, update) => sum + update.examples, 0);
  if (updates.length === 0 || totalExamples <= 0) return;
  for (const tensor of spec) {
    const values = weights.get(tensor.name)!;
    if (!tensor.trainable) values.fill(0);
    const sign = tensor.trainable ? -1 : 1;
    for (const update of updates) {
      const received = update.delta.get(tensor.name)!;
      const share = update.examples / totalExamples;
      for (let i = 0; i < values.length; i++) values[i] = values[i]! + sign * share * received[i]!;
    }
  }
}
