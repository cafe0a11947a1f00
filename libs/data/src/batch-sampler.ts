import { checkIndex, featureSize, type Dataset } from './dataset';
import { EmptyShardError, InvalidArgumentError } from './errors';
import { shuffleInPlace, type Rng } from './rng';

/** One training mini-batch, copied out of the dataset. */
export interface Batch {
  /** `size * featureSize` pixel values, one row-major image after another. */
  readonly x: Float32Array;
  /** `size` class labels. */
  readonly y: Uint8Array;
  /** Number of examples: the batch size under `BatchSampler`, random under `PoissonSampler`. */
  readonly size: number;
  /** Dataset indices of the examples, in batch order. */
  readonly indices: Uint32Array;
}

/**
 * Draws mini-batches from one worker's shard of a dataset, epoch after epoch.
 *
 * Each epoch walks a fresh random permutation of the shard. Every batch has exactly
 * `batchSize` examples: when an epoch has fewer examples left than that, the batch is filled
 * from the start of the next epoch's permutation. The stream of indices is therefore one
 * permutation of the shard after another, and every example appears exactly once per epoch.
 * A shard smaller than `batchSize` spans several epochs per batch, so a batch may repeat an
 * example.
 */
export class BatchSampler implements Iterable<Batch> {
  readonly batchSize: number;
  private readonly dataset: Dataset;
  private readonly featureCount: number;
  private readonly rng: Rng;
  private readonly permutation: Uint32Array;
  /** Position of the next example in `permutation`. */
  private cursor: number;
  private completedEpochs = 0;

  /**
   * `shardIndices` lists the dataset indices of this worker's examples. The sampler copies
   * the list and draws every shuffle from `rng`, so a seeded `rng` makes the batches
   * reproducible.
   */
  constructor(
    dataset: Dataset,
    shardIndices: Uint32Array | readonly number[],
    batchSize: number,
    rng: Rng
  ) {
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
      throw new InvalidArgumentError('batchSize', batchSize, 'an integer >= 1');
    }
    if (shardIndices.length === 0) throw new EmptyShardError();
    for (let position = 0; position < shardIndices.length; position++) {
      checkIndex(shardIndices[position]!, position, dataset.count);
    }
    this.dataset = dataset;
    this.featureCount = featureSize(dataset);
    this.batchSize = batchSize;
    this.rng = rng;
    this.permutation = Uint32Array.from(shardIndices);
    shuffleInPlace(this.permutation, this.rng);
    this.cursor = 0;
  }

  /** Number of examples in the shard. */
  get shardSize(): number {
    return this.permutation.length;
  }

  /** Number of passes over the shard that batches returned so far have finished. */
  get epochsCompleted(): number {
    return this.completedEpochs;
  }

  /** Returns the next batch. The arrays are new on every call, so the caller may keep them. */
  nextBatch(): Batch {
    const size = this.batchSize;
    const indices = new Uint32Array(size);
    for (let i = 0; i < size; i++) {
      if (this.cursor === this.permutation.length) {
        shuffleInPlace(this.permutation, this.rng);
        this.cursor = 0;
      }
      indices[i] = this.permutation[this.cursor]!;
      this.cursor++;
      if (this.cursor === this.permutation.length) this.completedEpochs++;
    }

    const x = new Float32Array(size * this.featureCount);
    const y = new Uint8Array(size);
    for (let i = 0; i < size; i++) {
      const index = indices[i]!;
      const start = index * this.featureCount;
      x.set(this.dataset.images.subarray(start, start + this.featureCount), i * this.featureCount);
      y[i] = this.dataset.labels[index]!;
    }
    return { x, y, size, indices };
  }

  /** Yields batches without end. Stop with `break` or take a fixed number of steps. */
  *[Symbol.iterator](): Iterator<Batch> {
    for (;;) yield this.nextBatch();
  }
}
