import assert from 'node:assert/strict';
import { test } from 'node:test';

import { BatchSampler } from './batch-sampler';
import type { Dataset } from './dataset';
import { EmptyShardError, IndexOutOfRangeError, InvalidArgumentError } from './errors';
import { createRng } from './rng';

/** Dataset of 2 x 2 x 1 images whose first pixel encodes the example index. */
function makeDataset(count: number): Dataset {
  const images = new Float32Array(count * 4);
  for (let i = 0; i < count; i++) images[i * 4] = i / count;
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  return { images, labels, count, imageShape: [2, 2, 1], numClasses: 10 };
}

/** Draws batches until `total` example indices have been collected. */
function collectIndices(sampler: BatchSampler, total: number): number[] {
  const indices: number[] = [];
  while (indices.length < total) indices.push(...sampler.nextBatch().indices);
  return indices;
}

const shard = [3, 5, 8, 13, 21, 34, 55, 60, 61, 62, 63];

test('sampler covers shard once per epoch', () => {
  const sampler = new BatchSampler(makeDataset(100), shard, 4, createRng(1));
  const epochs = 6;
  // 6 epochs of 11 examples fill 16.5 batches of 4, so indices after the 66th are ignored.
  const stream = collectIndices(sampler, shard.length * epochs);
  for (let epoch = 0; epoch < epochs; epoch++) {
    const block = stream.slice(epoch * shard.length, (epoch + 1) * shard.length);
    assert.deepEqual(
      block.sort((a, b) => a - b),
      shard,
      `epoch ${epoch}`
    );
  }
});

test('sampler reshuffles each epoch', () => {
  const sampler = new BatchSampler(makeDataset(100), shard, 11, createRng(2));
  const first = [...sampler.nextBatch().indices];
  const second = [...sampler.nextBatch().indices];
  assert.notDeepEqual(first, second);
  assert.deepEqual(
    [...second].sort((a, b) => a - b),
    shard
  );
});

test('sampler batches have full size', () => {
  const sampler = new BatchSampler(makeDataset(100), shard, 4, createRng(3));
  for (let i = 0; i < 20; i++) {
    const batch = sampler.nextBatch();
    assert.equal(batch.size, 4);
    assert.equal(batch.x.length, 4 * 4);
    assert.equal(batch.y.length, 4);
    assert.equal(batch.indices.length, 4);
  }
});

test('sampler stays within shard', () => {
  const dataset = makeDataset(100);
  const sampler = new BatchSampler(dataset, shard, 5, createRng(4));
  const allowed = new Set(shard);
  for (let i = 0; i < 30; i++) {
    const batch = sampler.nextBatch();
    for (let row = 0; row < batch.size; row++) {
      const index = batch.indices[row]!;
      assert.ok(allowed.has(index), `index ${index} is not in the shard`);
      assert.equal(batch.x[row * 4], dataset.images[index * 4]);
      assert.equal(batch.y[row], dataset.labels[index]);
    }
  }
});

test('sampler counts completed epochs', () => {
  const sampler = new BatchSampler(makeDataset(100), shard, 4, createRng(5));
  assert.equal(sampler.shardSize, 11);
  assert.equal(sampler.epochsCompleted, 0);
  sampler.nextBatch();
  sampler.nextBatch();
  assert.equal(sampler.epochsCompleted, 0);
  sampler.nextBatch(); // examples 9 to 12: the 11th finishes epoch 1
  assert.equal(sampler.epochsCompleted, 1);
  for (let i = 0; i < 8; i++) sampler.nextBatch(); // 44 examples in total, exactly 4 epochs
  assert.equal(sampler.epochsCompleted, 4);
});

test('sampler handles shard smaller than batch', () => {
  const sampler = new BatchSampler(makeDataset(10), [4, 7], 5, createRng(6));
  const batch = sampler.nextBatch();
  assert.equal(batch.size, 5);
  assert.ok([...batch.indices].every((index) => index === 4 || index === 7));
  assert.equal(sampler.epochsCompleted, 2);
});

test('sampler is deterministic per seed', () => {
  const dataset = makeDataset(100);
  const take = (seed: number) =>
    collectIndices(new BatchSampler(dataset, shard, 3, createRng(seed)), 30);
  assert.deepEqual(take(8), take(8));
  assert.notDeepEqual(take(8), take(9));
});

test('sampler iterator yields batches', () => {
  const sampler = new BatchSampler(makeDataset(100), shard, 2, createRng(7));
  let steps = 0;
  for (const batch of sampler) {
    assert.equal(batch.size, 2);
    if (++steps === 12) break;
  }
  assert.equal(steps, 12);
  assert.equal(sampler.epochsCompleted, 2);
});

test('sampler rejects invalid batch size', () => {
  for (const batchSize of [0, -1, 1.5, Number.NaN]) {
    assert.throws(
      () => new BatchSampler(makeDataset(10), [1, 2], batchSize, createRng(1)),
      (error: unknown) => {
        assert.ok(error instanceof InvalidArgumentError);
        assert.equal(error.code, 'FL_DATA_INVALID_ARGUMENT');
        assert.equal(error.argument, 'batchSize');
        return true;
      },
      `batchSize ${batchSize}`
    );
  }
});

test('sampler rejects empty shard', () => {
  assert.throws(
    () => new BatchSampler(makeDataset(10), [], 2, createRng(1)),
    (error: unknown) => {
      assert.ok(error instanceof EmptyShardError);
      assert.equal(error.code, 'FL_DATA_EMPTY_SHARD');
      return true;
    }
  );
});

test('sampler rejects index outside dataset', () => {
  assert.throws(
    () => new BatchSampler(makeDataset(10), Uint32Array.of(1, 10), 2, createRng(1)),
    (error: unknown) => {
      assert.ok(error instanceof IndexOutOfRangeError);
      assert.equal(error.position, 1);
      return true;
    }
  );
});
