import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { InvalidArgumentError, PartitionInfeasibleError } from './errors';
import { createDirichletPartitioner, createShardsPartitioner } from './label-skew';
import { createPartitioner } from './partition';
import { createRng } from './rng';

const CLASSES = 10;

/** Returns `count` labels with unequal class sizes, in a random order. */
function makeLabels(count: number, seed = 1): Uint8Array {
  const rng = createRng(seed);
  // Class c has weight c + 5, so the largest class is 2.8 times the smallest.
  const weights = Array.from({ length: CLASSES }, (_, label) => label + 5);
  const total = weights.reduce((a, b) => a + b, 0);
  return Uint8Array.from({ length: count }, () => {
    let draw = rng.nextFloat() * total;
    for (let label = 0; label < CLASSES; label++) {
      draw -= weights[label]!;
      if (draw < 0) return label;
    }
    return CLASSES - 1;
  });
}

/** Asserts that the shards contain every index of `count` exactly once, each sorted. */
function assertCoverage(shards: readonly Uint32Array[], count: number, context: string): void {
  const seen = new Uint8Array(count);
  for (const shard of shards) {
    for (let i = 0; i < shard.length; i++) {
      seen[shard[i]!]!++;
      if (i > 0) assert.ok(shard[i - 1]! < shard[i]!, `${context}: shard not sorted`);
    }
  }
  const wrong = seen.findIndex((times) => times !== 1);
  assert.equal(wrong, -1, `${context}: index ${wrong} used ${seen[wrong]} times`);
}

function labelDistribution(labels: Uint8Array, indices: ArrayLike<number>): number[] {
  const counts = new Array<number>(CLASSES).fill(0);
  for (let i = 0; i < indices.length; i++) counts[labels[indices[i]!]!]!++;
  return counts.map((count) => count / Math.max(indices.length, 1));
}

/** Mean total-variation distance between each shard's label distribution and the whole set's. */
function meanLabelSkew(labels: Uint8Array, shards: readonly Uint32Array[]): number {
  const all = labelDistribution(
    labels,
    Array.from({ length: labels.length }, (_, i) => i)
  );
  let sum = 0;
  for (const shard of shards) {
    const local = labelDistribution(labels, shard);
    sum += 0.5 * local.reduce((total, share, label) => total + Math.abs(share - all[label]!), 0);
  }
  return sum / shards.length;
}

describe('dirichlet partitioner', () => {
  test('uses every example once', () => {
    for (const [count, world, concentration] of [
      [1000, 7, 0.1],
      [5000, 16, 0.5],
      [300, 3, 1000],
      [400, 20, 100],
    ] as const) {
      const labels = makeLabels(count);
      const shards = createDirichletPartitioner(concentration).partition(labels, world, 4);

      assert.equal(shards.length, world);
      assert.ok(shards.every((shard) => shard.length > 0));
      assertCoverage(shards, count, `count ${count}, world ${world}, alpha ${concentration}`);
    }
  });

  test('skew falls as concentration rises', () => {
    const labels = makeLabels(10_000);
    const skews = [0.05, 0.5, 5, 500].map((concentration) =>
      meanLabelSkew(labels, createDirichletPartitioner(concentration).partition(labels, 10, 2))
    );

    for (let i = 1; i < skews.length; i++) {
      assert.ok(skews[i]! < skews[i - 1]!, `skews ${skews.join(', ')}`);
    }
    assert.ok(skews[0]! > 0.6, `skew at 0.05 is ${skews[0]}`);
    assert.ok(skews[3]! < 0.05, `skew at 500 is ${skews[3]}`);
  });

  test('is deterministic per seed', () => {
    const labels = makeLabels(2000);
    const partitioner = createDirichletPartitioner(0.3);

    assert.deepEqual(partitioner.partition(labels, 5, 8), partitioner.partition(labels, 5, 8));
    assert.notDeepEqual(partitioner.partition(labels, 5, 9), partitioner.partition(labels, 5, 8));
  });

  test('too many ranks for skew', () => {
    // With concentration 0.001 each class goes almost whole to one rank, so 10 classes cannot
    // give 50 ranks an example each.
    assert.throws(
      () => createDirichletPartitioner(0.001).partition(makeLabels(1000), 50, 1),
      (error: unknown) => {
        assert.ok(error instanceof PartitionInfeasibleError);
        assert.equal(error.code, 'FL_DATA_PARTITION_INFEASIBLE');
        assert.match(error.message, /raise the concentration/);
        return true;
      }
    );
  });

  test('rejects invalid concentration', () => {
    for (const concentration of [0, -1, Number.NaN, Infinity]) {
      assert.throws(
        () => createDirichletPartitioner(concentration),
        (error: unknown) =>
          error instanceof InvalidArgumentError && error.argument === 'options.concentration',
        String(concentration)
      );
    }
  });

  test('created by name with options', () => {
    const labels = makeLabels(500);
    const byName = createPartitioner('dirichlet', { concentration: 0.2 });

    assert.equal(byName.name, 'dirichlet');
    assert.deepEqual(
      byName.partition(labels, 4, 3),
      createDirichletPartitioner(0.2).partition(labels, 4, 3)
    );
    assert.throws(() => createPartitioner('dirichlet', { alpha: 1 }), InvalidArgumentError);
    assert.throws(
      () => createPartitioner('dirichlet', { concentration: '1' }),
      InvalidArgumentError
    );
  });
});

describe('shards partitioner', () => {
  test('each rank gets k classes', () => {
    for (const [world, classesPerWorker] of [
      [5, 2],
      [8, 2],
      [10, 1],
      [3, 4],
      [4, 10],
    ] as const) {
      const labels = makeLabels(3000);
      const shards = createShardsPartitioner(classesPerWorker).partition(labels, world, 6);

      assertCoverage(shards, labels.length, `world ${world}, k ${classesPerWorker}`);
      for (const [rank, shard] of shards.entries()) {
        const classes = new Set(Array.from(shard, (index) => labels[index]));
        assert.equal(classes.size, classesPerWorker, `world ${world}: rank ${rank}`);
      }
    }
  });

  test('classes are held evenly', () => {
    const labels = makeLabels(3000);
    const shards = createShardsPartitioner(3).partition(labels, 7, 1);
    const holders = new Array<number>(CLASSES).fill(0);
    for (const shard of shards) {
      for (const label of new Set(Array.from(shard, (index) => labels[index]!))) holders[label]!++;
    }

    // 7 ranks x 3 classes = 21 holdings over 10 classes: two or three holders each.
    assert.ok(
      holders.every((count) => count === 2 || count === 3),
      holders.join(',')
    );
    assert.equal(
      holders.reduce((a, b) => a + b, 0),
      21
    );
  });

  test('holders split a class evenly', () => {
    const labels = makeLabels(3000);
    const shards = createShardsPartitioner(1).partition(labels, 20, 2);
    const sizes = new Map<number, number[]>();
    for (const shard of shards) {
      const label = labels[shard[0]!]!;
      sizes.set(label, [...(sizes.get(label) ?? []), shard.length]);
    }

    for (const [label, classSizes] of sizes) {
      assert.ok(Math.max(...classSizes) - Math.min(...classSizes) <= 1, `class ${label}`);
    }
  });

  test('is deterministic per seed', () => {
    const labels = makeLabels(1000);
    const partitioner = createShardsPartitioner(2);

    assert.deepEqual(partitioner.partition(labels, 6, 3), partitioner.partition(labels, 6, 3));
    assert.notDeepEqual(partitioner.partition(labels, 6, 4), partitioner.partition(labels, 6, 3));
  });

  test('rejects infeasible requests', () => {
    const labels = makeLabels(1000);
    const cases: [number, number, RegExp][] = [
      [11, 4, /only 10 classes/],
      [2, 4, /cannot cover all 10 classes/],
    ];
    for (const [classesPerWorker, world, message] of cases) {
      assert.throws(
        () => createShardsPartitioner(classesPerWorker).partition(labels, world, 1),
        (error: unknown) =>
          error instanceof PartitionInfeasibleError && message.test(error.message),
        `k ${classesPerWorker}, world ${world}`
      );
    }
  });

  test('rejects too small classes', () => {
    // Two examples per class, each class held by three ranks.
    const labels = Uint8Array.from({ length: 20 }, (_, i) => i % 10);

    assert.throws(
      () => createShardsPartitioner(3).partition(labels, 10, 1),
      PartitionInfeasibleError
    );
  });

  test('created by name with options', () => {
    const labels = makeLabels(500);

    assert.deepEqual(
      createPartitioner('shards', { classesPerWorker: 3 }).partition(labels, 4, 2),
      createShardsPartitioner(3).partition(labels, 4, 2)
    );
    assert.throws(() => createPartitioner('shards', { classesPerWorker: 0 }), InvalidArgumentError);
    assert.throws(() => createPartitioner('shards', { concentration: 1 }), InvalidArgumentError);
  });
});
