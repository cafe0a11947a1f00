import { readStateScalar, type AggregationState } from './state';

/**
 * Fixed-capacity history of numbers, newest last. The capacity exceeds the length the checks
 * read by the maximum number of buffered updates, so that an export can leave out the entries
 * of buffered updates and still write a full history.
 */
class HistoryRing {
  private readonly values: Float64Array;
  private head = 0;
  size = 0;

  constructor(readonly capacity: number) {
    this.values = new Float64Array(capacity);
  }

  push(value: number): void {
    if (this.capacity === 0) return;
    this.values[this.head] = value;
    this.head = (this.head + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
  }

  /** Returns the entry `age` steps back from the newest (age 0 is the newest). */
  back(age: number): number {
    const slot = (this.head - 1 - age + 2 * this.capacity) % this.capacity;
    return this.values[slot] as number;
  }

  clear(): void {
    this.head = 0;
    this.size = 0;
  }
}

/**
 * Per-rank cap on the share of accepted weight. The share of a candidate from rank r is
 * (weight of r among the last window - 1 accepted updates + candidate weight) divided by
 * (total weight of those updates + candidate weight). The cap applies only once window - 1
 * updates are recorded, because at start-up any single update would hold the whole share.
 */
export class RankShareTracker {
  private readonly ranks: HistoryRing;
  private readonly weights: HistoryRing;
  private readonly length: number;

  /** `extraCapacity` is the maximum number of buffered updates whose entries an export skips. */
  constructor(
    readonly maxShare: number,
    readonly window: number,
    extraCapacity: number
  ) {
    this.length = window - 1;
    this.ranks = new HistoryRing(this.length + extraCapacity);
    this.weights = new HistoryRing(this.length + extraCapacity);
  }

  /** Returns a rejection detail when accepting the candidate would exceed the cap. */
  check(rank: number, weight: number): string | undefined {
    if (this.weights.size < this.length) return undefined;
    let total = 0;
    let own = 0;
    // Oldest first, so that a restored history sums in the same order as the original.
    for (let age = this.length - 1; age >= 0; age--) {
      const entryWeight = this.weights.back(age);
      total += entryWeight;
      if (this.ranks.back(age) === rank) own += entryWeight;
    }
    total += weight;
    own += weight;
    if (total <= 0) return undefined;
    const share = own / total;
    if (share <= this.maxShare) return undefined;
    const percent = (share * 100).toPrecision(4);
    return `rank ${rank} would hold ${percent}% of the weight of the last ${this.window} accepted updates (maxShare ${this.maxShare})`;
  }

  record(rank: number, weight: number): void {
    this.ranks.push(rank);
    this.weights.push(weight);
  }

  /** Exports the history without the newest `skip` entries, which belong to buffered updates. */
  exportTo(scalars: Record<string, number>, skip: number): void {
    const count = Math.min(this.weights.size - skip, this.length);
    scalars['rankShare.count'] = count;
    for (let i = 0; i < count; i++) {
      const age = skip + count - 1 - i;
      scalars[`rankShare.rank.${i}`] = this.ranks.back(age);
      scalars[`rankShare.weight.${i}`] = this.weights.back(age);
    }
  }

  /** Checks the tracker's part of a state and returns the work that installs it. */
  stageImport(state: AggregationState): () => void {
    const count = readStateScalar(state, 'rankShare.count', {
      min: 0,
      max: this.length,
      integer: true,
    });
    const entries: { rank: number; weight: number }[] = [];
    for (let i = 0; i < count; i++) {
      const rank = readStateScalar(state, `rankShare.rank.${i}`, { min: 0, integer: true });
      const weight = readStateScalar(state, `rankShare.weight.${i}`, { min: 0 });
      entries.push({ rank, weight });
    }
    return () => {
      this.ranks.clear();
      this.weights.clear();
      for (const { rank, weight } of entries) this.record(rank, weight);
    };
  }
}

/**
 * Rejects updates whose delta norm exceeds maxRatio times the median norm of the last `window`
 * accepted updates, once `minSamples` norms are recorded.
 */
export class NormOutlierTracker {
  private readonly norms: HistoryRing;
  private readonly sorted: Float64Array;

  /** `extraCapacity` is the maximum number of buffered updates whose entries an export skips. */
  constructor(
    readonly maxRatio: number,
    readonly window: number,
    readonly minSamples: number,
    extraCapacity: number
  ) {
    this.norms = new HistoryRing(window + extraCapacity);
    this.sorted = new Float64Array(window);
  }

  /** Returns a rejection detail when `norm` is an outlier. */
  check(norm: number): string | undefined {
    const count = Math.min(this.norms.size, this.window);
    if (count < this.minSamples) return undefined;
    const values = this.sorted;
    for (let age = 0; age < count; age++) values[age] = this.norms.back(age);
    insertionSort(values, count);
    const median = medianOfSorted(values, count);
    // A zero median would reject every non-zero delta forever, so the check pauses instead.
    if (median === 0) return undefined;
    if (norm <= this.maxRatio * median) return undefined;
    return `delta L2 norm ${norm.toPrecision(6)} exceeds maxRatio ${this.maxRatio} times the median ${median.toPrecision(6)} of the last ${count} accepted updates`;
  }

  record(norm: number): void {
    this.norms.push(norm);
  }

  /** Exports the history without the newest `skip` entries, which belong to buffered updates. */
  exportTo(scalars: Record<string, number>, skip: number): void {
    const count = Math.min(this.norms.size - skip, this.window);
    scalars['normOutlier.count'] = count;
    for (let i = 0; i < count; i++) {
      scalars[`normOutlier.norm.${i}`] = this.norms.back(skip + count - 1 - i);
    }
  }

  /** Checks the tracker's part of a state and returns the work that installs it. */
  stageImport(state: AggregationState): () => void {
    const count = readStateScalar(state, 'normOutlier.count', {
      min: 0,
      max: this.window,
      integer: true,
    });
    const norms: number[] = [];
    for (let i = 0; i < count; i++) {
      norms.push(readStateScalar(state, `normOutlier.norm.${i}`, { min: 0 }));
    }
    return () => {
      this.norms.clear();
      for (const norm of norms) this.record(norm);
    };
  }
}

/** Sorts the first `count` values ascending in place. Insertion sort suits the small counts. */
export function insertionSort(values: Float64Array, count: number): void {
  for (let i = 1; i < count; i++) {
    const value = values[i] as number;
    let j = i - 1;
    while (j >= 0 && (values[j] as number) > value) {
      values[j + 1] = values[j] as number;
      j--;
    }
    values[j + 1] = value;
  }
}

/** Returns the median of the first `count` sorted values, averaging the middle two if even. */
export function medianOfSorted(values: Float64Array, count: number): number {
  const middle = count >> 1;
  if (count % 2 === 1) return values[middle] as number;
  return ((values[middle - 1] as number) + (values[middle] as number)) / 2;
}
