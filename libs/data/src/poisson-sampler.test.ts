import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Dataset } from './dataset';
import { EmptyShardError, IndexOutOfRangeError, InvalidArgumentError } from './errors';
import { PoissonSampler } from './poisson-sampler';
import { createRng } from './rng';

/** Returns a dataset of `count` 1x2x1 images whose pixels and label encode the index. */
function indexedDataset(count: number): Dataset {
  const images = new Float32Array(count * 2);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    images[2 * i] = i;
    images[2 * i + 1] = -i;
    labels[i] = i % 10;
  }
  return { images, labels, count, imageShape: [1, 2, 1], numClasses: 10 };
}

describe('PoissonSampler', () => {
  it('samples each example with the expected rate', () => {
    const dataset = indexedDataset(200);
    const shard = Array.from({ length: 100 }, (_, i) => 2 * i);
    const sampler = new PoissonSampler(dataset, shard, 10, createRng(1));
    assert.equal(sampler.samplingRate, 0.1);
    const counts = new Map<number, number>();
    let total = 0;
    let empty = 0;
    const steps = 5000;
    for (let step = 0; step < steps; step++) {
      const batch = sampler.nextBatch();
      total += batch.size;
      if (batch.size === 0) empty++;
      for (const index of batch.indices) counts.set(index, (counts.get(index) ?? 0) + 1);
    }
    // Mean batch size 10 with standard error sqrt(9 / 5000) = 0.042.
    assert.ok(Math.abs(total / steps - 10) < 0.2, `mean batch size ${total / steps}`);
    // Every example is drawn about 500 times (standard deviation 21).
    for (const index of shard) {
      const count = counts.get(index) ?? 0;
      assert.ok(count > 400 && count < 600, `example ${index} drawn ${count} times`);
    }
    assert.ok(
      [...counts.keys()].every((index) => index % 2 === 0),
      'an index outside the shard'
    );
    // P(empty) = 0.9^100 = 2.7e-5, so empty batches are possible but rare here.
    assert.ok(empty < 5);
  });

  it('varies the batch size like a binomial draw', () => {
    const sampler = new PoissonSampler(
      indexedDataset(50),
      Array.from({ length: 50 }, (_, i) => i),
      25,
      createRng(3)
    );
    const sizes = Array.from({ length: 4000 }, () => sampler.nextBatch().size);
    const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    const variance = sizes.reduce((a, b) => a + (b - mean) ** 2, 0) / sizes.length;
    // Binomial(50, 0.5): variance 12.5.
    assert.ok(Math.abs(variance - 12.5) < 1.5, `variance ${variance}`);
  });

  it('copies the examples of the chosen indices', () => {
    const dataset = indexedDataset(30);
    const sampler = new PoissonSampler(
      dataset,
      Array.from({ length: 30 }, (_, i) => i),
      15,
      createRng(2)
    );
    const batch = sampler.nextBatch();
    assert.ok(batch.size > 0);
    assert.equal(batch.x.length, 2 * batch.size);
    batch.indices.forEach((index, i) => {
      assert.equal(batch.x[2 * i], index);
      assert.equal(batch.x[2 * i + 1], -index);
      assert.equal(batch.y[i], index % 10);
    });
  });

  it('includes every example at rate 1', () => {
    const sampler = new PoissonSampler(indexedDataset(7), [0, 1, 2, 3, 4, 5, 6], 7, createRng(4));
    assert.equal(sampler.nextBatch().size, 7);
  });

  it('repeats the batches of a seed', () => {
    const shard = Array.from({ length: 40 }, (_, i) => i);
    const first = new PoissonSampler(indexedDataset(40), shard, 5, createRng(9));
    const second = new PoissonSampler(indexedDataset(40), shard, 5, createRng(9));
    for (let step = 0; step < 20; step++) {
      assert.deepEqual(first.nextBatch().indices, second.nextBatch().indices);
    }
  });

  it('rejects invalid arguments', () => {
    const dataset = indexedDataset(10);
    assert.throws(() => new PoissonSampler(dataset, [], 1, createRng(1)), EmptyShardError);
    assert.throws(() => new PoissonSampler(dataset, [1, 2], 3, createRng(1)), InvalidArgumentError);
    assert.throws(() => new PoissonSampler(dataset, [1, 2], 0, createRng(1)), InvalidArgumentError);
    assert.throws(
      () => new PoissonSampler(dataset, [1, 12], 1, createRng(1)),
      IndexOutOfRangeError
    );
  });
});
