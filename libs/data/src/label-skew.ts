import { apportion, sampleDirichlet } from './distributions';
import { InvalidArgumentError, PartitionInfeasibleError } from './errors';
import { validateWorld, type Partitioner } from './partition';
import { createRng, randomPermutation, shuffleInPlace, type Rng } from './rng';

/** Default Dirichlet concentration: strong skew, with most ranks dominated by a few classes. */
export const DEFAULT_CONCENTRATION = 0.5;
/** Default number of classes per rank of the shards partitioner. */
export const DEFAULT_CLASSES_PER_WORKER = 2;

/** Draws per partition before the Dirichlet partitioner gives up on leaving no rank empty. */
const MAX_DIRICHLET_DRAWS = 100;

/**
 * Dirichlet label skew: for every class, proportions p ~ Dir(concentration, ..., concentration)
 * over the ranks are drawn and the class's examples, shuffled, are split among the ranks in
 * those proportions (largest-remainder rounding). Every example goes to exactly one rank. Small
 * concentrations give each rank few classes, and large ones approach an IID split. A draw that
 * leaves a rank without examples is redrawn, up to 100 times. Each shard is sorted in ascending
 * index order.
 */
export function createDirichletPartitioner(concentration: number): Partitioner {
  if (
    typeof concentration !== 'number' ||
    !(concentration > 0) ||
    !Number.isFinite(concentration)
  ) {
    throw new InvalidArgumentError('options.concentration', concentration, 'a finite number > 0');
  }
  return Object.freeze({
    name: 'dirichlet',
    partition(labels: Uint8Array, world: number, seed: number): Uint32Array[] {
      validateWorld(labels.length, world);
      const rng = createRng(seed);
      const classes = groupByClass(labels);
      for (let draw = 0; draw < MAX_DIRICHLET_DRAWS; draw++) {
        const shards = drawDirichletShards(classes, world, concentration, rng);
        if (shards.every((shard) => shard.length > 0)) return shards.map(toSortedArray);
      }
      throw new PartitionInfeasibleError(
        'dirichlet',
        `with concentration ${concentration}, ${MAX_DIRICHLET_DRAWS} draws all left at least ` +
          `one of the ${world} ranks without examples; raise the concentration or lower the ` +
          'number of ranks'
      );
    },
  });
}

function drawDirichletShards(
  classes: readonly Uint32Array[],
  world: number,
  concentration: number,
  rng: Rng
): number[][] {
  const shards = Array.from({ length: world }, (): number[] => []);
  for (const members of classes) {
    const shuffled = shuffleInPlace(Uint32Array.from(members), rng);
    const counts = apportion(sampleDirichlet(rng, concentration, world), shuffled.length);
    let start = 0;
    counts.forEach((count, rank) => {
      for (let i = start; i < start + count; i++) shards[rank]!.push(shuffled[i]!);
      start += count;
    });
  }
  return shards;
}

/**
 * Shards of k classes: every rank gets exactly `classesPerWorker` distinct classes, and each
 * class is split evenly (sizes differ by at most 1) among the ranks that hold it. With the
 * classes in a random order c_0 .. c_(C-1), rank r gets c_((r·k + j) mod C) for j < k, so the
 * k classes of a rank are distinct when k <= C, every class is held when world·k >= C, and
 * class holder counts differ by at most 1. Every example goes to exactly one rank. Each shard is
 * sorted in ascending index order.
 */
export function createShardsPartitioner(classesPerWorker: number): Partitioner {
  if (!Number.isSafeInteger(classesPerWorker) || classesPerWorker < 1) {
    throw new InvalidArgumentError('options.classesPerWorker', classesPerWorker, 'an integer >= 1');
  }
  return Object.freeze({
    name: 'shards',
    partition(labels: Uint8Array, world: number, seed: number): Uint32Array[] {
      validateWorld(labels.length, world);
      const classes = groupByClass(labels);
      const classCount = classes.length;
      if (classesPerWorker > classCount) {
        throw new PartitionInfeasibleError(
          'shards',
          `${classesPerWorker} classes per rank were requested, but the labels contain only ` +
            `${classCount} classes; lower the classes per rank`
        );
      }
      if (world * classesPerWorker < classCount) {
        throw new PartitionInfeasibleError(
          'shards',
          `${world} ranks with ${classesPerWorker} classes each cannot cover all ${classCount} ` +
            'classes, so examples would go unused; raise the classes per rank or the number of ranks'
        );
      }

      const rng = createRng(seed);
      const classOrder = randomPermutation(classCount, rng);
      const holders = Array.from({ length: classCount }, (): number[] => []);
      for (let rank = 0; rank < world; rank++) {
        for (let j = 0; j < classesPerWorker; j++) {
          holders[classOrder[(rank * classesPerWorker + j) % classCount]!]!.push(rank);
        }
      }

      const shards = Array.from({ length: world }, (): number[] => []);
      classes.forEach((members, classIndex) => {
        const ranks = holders[classIndex]!;
        if (members.length < ranks.length) {
          throw new PartitionInfeasibleError(
            'shards',
            `a class with ${members.length} examples would be split among ${ranks.length} ` +
              'ranks, leaving one without examples of it; lower the number of ranks or the ' +
              'classes per rank'
          );
        }
        const shuffled = shuffleInPlace(Uint32Array.from(members), rng);
        const counts = apportion(new Array<number>(ranks.length).fill(1), shuffled.length);
        let start = 0;
        ranks.forEach((rank, position) => {
          const count = counts[position]!;
          for (let i = start; i < start + count; i++) shards[rank]!.push(shuffled[i]!);
          start += count;
        });
      });
      return shards.map(toSortedArray);
    },
  });
}

/** Returns the example indices of each class present in `labels`, in ascending label order. */
function groupByClass(labels: Uint8Array): Uint32Array[] {
  const counts = new Array<number>(256).fill(0);
  for (const label of labels) counts[label]!++;
  const groups = new Map<number, Uint32Array>();
  counts.forEach((count, label) => {
    if (count > 0) groups.set(label, new Uint32Array(count));
  });
  const filled = new Array<number>(256).fill(0);
  labels.forEach((label, index) => {
    groups.get(label)![filled[label]!++] = index;
  });
  return [...groups.values()];
}

function toSortedArray(indices: readonly number[]): Uint32Array {
  return Uint32Array.from(indices).sort();
}
