import { InvalidArgumentError, UnknownPartitionerError } from './errors';
import {
  createDirichletPartitioner,
  createShardsPartitioner,
  DEFAULT_CLASSES_PER_WORKER,
  DEFAULT_CONCENTRATION,
} from './label-skew';
import { createRng, randomPermutation } from './rng';

/** Strategy that assigns the examples of a training set to the workers of a federation. */
export interface Partitioner {
  readonly name: string;
  /** Splits example indices among `world` ranks; returns one index list per rank. Deterministic for a seed. */
  partition(labels: Uint8Array, world: number, seed: number): Uint32Array[];
}

/**
 * Settings of a partitioner, such as a Dirichlet concentration. Each partitioner reads the
 * keys it defines and rejects the rest, so a misspelt key fails instead of being ignored.
 */
export type PartitionerOptions = Readonly<Record<string, unknown>>;

/**
 * IID partitioner: shuffles all example indices with the seed, then cuts the permutation into
 * `world` contiguous shards. Every example goes to exactly one rank, and shard sizes differ by
 * at most 1 because the first `count % world` ranks get one extra example. Each shard is sorted
 * in ascending index order.
 */
export const iidPartitioner: Partitioner = Object.freeze({
  name: 'iid',
  partition(labels: Uint8Array, world: number, seed: number): Uint32Array[] {
    validateWorld(labels.length, world);
    const permutation = randomPermutation(labels.length, createRng(seed));
    const baseSize = Math.floor(labels.length / world);
    const extra = labels.length % world;
    const shards: Uint32Array[] = [];
    let start = 0;
    for (let rank = 0; rank < world; rank++) {
      const end = start + baseSize + (rank < extra ? 1 : 0);
      shards.push(permutation.slice(start, end).sort());
      start = end;
    }
    return shards;
  },
});

const PARTITIONER_FACTORIES: Readonly<
  Record<string, (options: PartitionerOptions) => Partitioner>
> = Object.freeze({
  iid: (options: PartitionerOptions) => {
    rejectUnknownOptions('iid', options, []);
    return iidPartitioner;
  },
  dirichlet: (options: PartitionerOptions) => {
    rejectUnknownOptions('dirichlet', options, ['concentration']);
    return createDirichletPartitioner(
      (options['concentration'] as number | undefined) ?? DEFAULT_CONCENTRATION
    );
  },
  shards: (options: PartitionerOptions) => {
    rejectUnknownOptions('shards', options, ['classesPerWorker']);
    return createShardsPartitioner(
      (options['classesPerWorker'] as number | undefined) ?? DEFAULT_CLASSES_PER_WORKER
    );
  },
});

/** Names accepted by `createPartitioner`. */
export const PARTITIONER_NAMES: readonly string[] = Object.freeze(
  Object.keys(PARTITIONER_FACTORIES)
);

/**
 * Returns the partitioner called `name` configured with `options`: 'iid' takes none,
 * 'dirichlet' takes `concentration` (default 0.5) and 'shards' takes `classesPerWorker`
 * (default 2). Throws `UnknownPartitionerError` for a name not in `PARTITIONER_NAMES` and
 * `InvalidArgumentError` for an option that the partitioner does not define or an invalid value.
 */
export function createPartitioner(name: string, options: PartitionerOptions = {}): Partitioner {
  const factory = Object.hasOwn(PARTITIONER_FACTORIES, name)
    ? PARTITIONER_FACTORIES[name]
    : undefined;
  if (factory === undefined) throw new UnknownPartitionerError(name, PARTITIONER_NAMES);
  return factory(options);
}

/**
 * Throws `InvalidArgumentError` unless `world` is an integer in [1, exampleCount], so that
 * every rank can get at least one example.
 */
export function validateWorld(exampleCount: number, world: number): void {
  if (!Number.isSafeInteger(world) || world < 1 || world > exampleCount) {
    throw new InvalidArgumentError(
      'world',
      world,
      `an integer in [1, ${exampleCount}], at most one rank per example`
    );
  }
}

function rejectUnknownOptions(
  partitioner: string,
  options: PartitionerOptions,
  knownKeys: readonly string[]
): void {
  for (const key of Object.keys(options)) {
    if (!knownKeys.includes(key)) {
      const expected =
        knownKeys.length === 0
          ? `no options for partitioner ${JSON.stringify(partitioner)}`
          : `one of ${knownKeys.join(', ')} for partitioner ${JSON.stringify(partitioner)}`;
      throw new InvalidArgumentError(`options.${key}`, options[key], expected);
    }
  }
}
