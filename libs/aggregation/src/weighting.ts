/**
 * Example weightings. Each names a score g(n) of an update's example count n: equal g = 1,
 * linear g = n, sqrt g = sqrt(n), log g = log(1 + n).
 */
export const EXAMPLE_WEIGHTINGS = ['equal', 'linear', 'sqrt', 'log'] as const;

export type ExampleWeighting = (typeof EXAMPLE_WEIGHTINGS)[number];

/** Returns the score g(n) of an example count under a weighting. */
export function exampleScore(weighting: ExampleWeighting, examples: number): number {
  switch (weighting) {
    case 'equal':
      return 1;
    case 'linear':
      return examples;
    case 'sqrt':
      return Math.sqrt(examples);
    case 'log':
      return Math.log1p(examples);
  }
}

/**
 * Returns g(n) / g(mean), the factor that multiplies the staleness weight. Dividing by the score
 * of the running mean keeps the expected step size independent of how many examples workers
 * use. Returns 0 when g(n) is 0, which also covers a mean of 0.
 */
export function exampleFactor(
  weighting: ExampleWeighting,
  examples: number,
  meanExamples: number
): number {
  if (weighting === 'equal') return 1;
  const score = exampleScore(weighting, examples);
  if (score === 0) return 0;
  return score / exampleScore(weighting, meanExamples);
}

/**
 * Running mean of example counts over accepted updates. Both totals are integers below 2^53, so
 * the mean does not depend on the order in which counts were added.
 */
export class ExampleCountMean {
  totalExamples = 0;
  updates = 0;

  /** Returns the mean after adding `extraUpdates` updates with `extraExamples` examples. */
  meanWith(extraExamples: number, extraUpdates: number): number {
    const updates = this.updates + extraUpdates;
    return updates === 0 ? 0 : (this.totalExamples + extraExamples) / updates;
  }

  add(examples: number, updates: number): void {
    this.totalExamples += examples;
    this.updates += updates;
  }
}
