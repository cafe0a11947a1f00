import type { Batch } from './batch-sampler';
import { checkIndex, featureSize, type Dataset } from './dataset';
import { EmptyShardError, InvalidArgumentError } from './errors';
import type { Rng } from './rng';

const TWO_POW_26 = 0x400_0000;
const TWO_POW_53 = 2 ** 53;

/**
 * Draws Poisson-sampled batches from one worker's shard, as differentially private SGD assumes:
 * each batch includes every example of the shard independently with probability
 * `samplingRate` q = expectedBatchSize / shard size. Batch sizes are therefore random
 * (binomial with mean `expectedBatchSize`), a batch may be empty, and an example may appear in
 * any number of consecutive batches.
 *
 * Each inclusion test compares a 53-bit uniform draw with q, so the inclusion probability is q
 * rounded up to a multiple of 2^-53.
 */
export class PoissonSampler {
  readonly expectedBatchSize: number;
  readonly samplingRate: number;
  private readonly dataset: Dataset;
  private readonly featureCount: number;
  private readonly shard: Uint32Array;
  private readonly rng: Rng;

  /**
   * `shardIndices` lists the dataset indices of this worker's examples, and is copied. Every
   * draw comes from `rng`, so a seeded `rng` makes the batches reproducible.
   *
   * @throws InvalidArgumentError when `expectedBatchSize` is not a number in (0, shard size].
   * @throws EmptyShardError for an empty shard.
   * @throws IndexOutOfRangeError for an index outside the dataset.
   */
  constructor(
    dataset: Dataset,
    shardIndices: Uint32Array | readonly number[],
    expectedBatchSize: number,
    rng: Rng
  ) {
    if (shardIndices.length === 0) throw new EmptyShardError();
    if (
      !Number.isFinite(expectedBatchSize) ||
      expectedBatchSize <= 0 ||
      expectedBatchSize > shardIndices.length
    ) {
      throw new InvalidArgumentError(
        'expectedBatchSize',
        expectedBatchSize,
        `a number in (0, ${shardIndices.length}], the shard size`
      );
    }
    for (let position = 0; position < shardIndices.length; position++) {
      checkIndex(shardIndices[position]!, position, dataset.count);
    }
    this.dataset = dataset;
    this.featureCount = featureSize(dataset);
    this.shard = Uint32Array.from(shardIndices);
    this.rng = rng;
    this.expectedBatchSize = expectedBatchSize;
    this.samplingRate = expectedBatchSize / shardIndices.length;
  }

  /** Number of examples in the shard. */
  get shardSize(): number {
    return this.shard.length;
  }

  /** Returns the next batch. The arrays are new on every call, so the caller may keep them. */
  nextBatch(): Batch {
    const chosen: number[] = [];
    for (let position = 0; position < this.shard.length; position++) {
      if (this.uniform53() < this.samplingRate) chosen.push(this.shard[position]!);
    }
    const size = chosen.length;
    const indices = Uint32Array.from(chosen);
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

  /** Returns a uniform draw from [0, 1) with 53 random bits. */
  private uniform53(): number {
    const high = this.rng.nextUint32() >>> 5;
    const low = this.rng.nextUint32() >>> 6;
    return (high * TWO_POW_26 + low) / TWO_POW_53;
  }
}
