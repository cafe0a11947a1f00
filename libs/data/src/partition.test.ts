import assert from 'node:assert/strict';
import { test } from 'node:test';

import { InvalidArgumentError, InvalidSeedError, UnknownPartitionerError } from './errors';
import { PARTITIONER_NAMES, createPartitioner, iidPartitioner } from './partition';

function makeLabels(count: number): Uint8Array {
  return Uint8Array.from({ length: count }, (_, i) => (i * 7) % 10);
}

test('iid partition uses every index once', () => {
  for (const [count, world] of [
    [1000, 7],
    [10, 10],
    [11, 1],
    [10_000, 32],
  ] as const) {
    const shards = iidPartitioner.partition(makeLabels(count), world, 5);
    assert.equal(shards.length, world);
    const seen = new Uint8Array(count);
    for (const shard of shards) {
      for (const index of shard) seen[index]!++;
    }
    const misses = seen.findIndex((times) => times !== 1);
    assert.equal(misses, -1, `count ${count}, world ${world}: index ${misses} used wrongly`);
  }
});

test('iid shard sizes differ by at most one', () => {
  const shards = iidPartitioner.partition(makeLabels(1003), 10, 1);
  const sizes = shards.map((shard) => shard.length);
  assert.deepEqual(sizes, [101, 101, 101, 100, 100, 100, 100, 100, 100, 100]);
});

test('iid shards are sorted', () => {
  for (const shard of iidPartitioner.partition(makeLabels(200), 3, 2)) {
    for (let i = 1; i < shard.length; i++) assert.ok(shard[i - 1]! < shard[i]!);
  }
});

test('iid shards mix classes', () => {
  const labels = makeLabels(10_000);
  for (const [rank, shard] of iidPartitioner.partition(labels, 4, 3).entries()) {
    const classes = new Set(Array.from(shard, (index) => labels[index]));
    assert.equal(classes.size, 10, `rank ${rank}`);
  }
});

test('iid partition is deterministic per seed', () => {
  const labels = makeLabels(500);
  const first = iidPartitioner.partition(labels, 4, 77);
  const second = iidPartitioner.partition(labels, 4, 77);
  const other = iidPartitioner.partition(labels, 4, 78);
  assert.deepEqual(first, second);
  assert.notDeepEqual(first, other);
});

test('iid partition rejects invalid world', () => {
  const labels = makeLabels(5);
  for (const world of [0, -2, 6, 1.5, Number.NaN]) {
    assert.throws(
      () => iidPartitioner.partition(labels, world, 1),
      (error: unknown) => {
        assert.ok(error instanceof InvalidArgumentError);
        assert.equal(error.argument, 'world');
        assert.ok(error.message.includes('[1, 5]'), error.message);
        return true;
      },
      `world ${world}`
    );
  }
});

test('iid partition rejects invalid seed', () => {
  assert.throws(() => iidPartitioner.partition(makeLabels(5), 2, 0.5), InvalidSeedError);
});

test('createPartitioner returns iid', () => {
  assert.deepEqual(PARTITIONER_NAMES, ['iid', 'dirichlet', 'shards']);
  const partitioner = createPartitioner('iid');
  assert.equal(partitioner.name, 'iid');
  assert.deepEqual(
    partitioner.partition(makeLabels(50), 3, 4),
    iidPartitioner.partition(makeLabels(50), 3, 4)
  );
});

test('createPartitioner rejects unknown names', () => {
  for (const name of ['lda', 'IID', '', 'toString', '__proto__']) {
    assert.throws(
      () => createPartitioner(name),
      (error: unknown) => {
        assert.ok(error instanceof UnknownPartitionerError, `name ${JSON.stringify(name)}`);
        assert.equal(error.code, 'FL_DATA_UNKNOWN_PARTITIONER');
        assert.equal(error.partitioner, name);
        assert.match(error.message, /expected one of "iid", "dirichlet", "shards"/);
        return true;
      }
    );
  }
});

test('createPartitioner rejects unknown options', () => {
  assert.throws(
    () => createPartitioner('iid', { alpha: 0.5 }),
    (error: unknown) => {
      assert.ok(error instanceof InvalidArgumentError);
      assert.equal(error.argument, 'options.alpha');
      assert.ok(error.message.includes('no options for partitioner "iid"'), error.message);
      return true;
    }
  );
});
