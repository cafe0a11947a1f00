import assert from 'node:assert/strict';
import { test } from 'node:test';

import { InvalidArgumentError, InvalidSeedError } from './errors';
import { Xoshiro128StarStar, createRng, randomPermutation, shuffleInPlace } from './rng';

function draws(seed: number, n: number): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => rng.nextUint32());
}

test('xoshiro128** matches reference outputs', () => {
  // Expected values come from the C reference algorithm (xoshiro128starstar.c by Blackman and
  // Vigna), compiled with gcc and started from state {1, 2, 3, 4}.
  const rng = new Xoshiro128StarStar([1, 2, 3, 4]);
  const outputs = Array.from({ length: 8 }, () => rng.nextUint32());
  assert.deepEqual(
    outputs,
    [11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849]
  );
});

test('xoshiro128** matches reference after 1000 steps', () => {
  const rng = new Xoshiro128StarStar([0x9e3779b9, 0xdeadbeef, 0x12345678, 0xffffffff]);
  for (let i = 0; i < 1000; i++) rng.nextUint32();
  const outputs = Array.from({ length: 4 }, () => rng.nextUint32());
  assert.deepEqual(outputs, [1634835592, 1244369546, 2927946238, 903118948]);
});

test('xoshiro128** rejects all-zero state', () => {
  assert.throws(() => new Xoshiro128StarStar([0, 0, 0, 0]), InvalidArgumentError);
});

test('same seed gives same sequence', () => {
  assert.deepEqual(draws(42, 100), draws(42, 100));
});

test('different seeds give different sequences', () => {
  const seeds = [0, 1, 2, -1, 42, 2 ** 32, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER];
  const firstDraws = new Set(seeds.map((seed) => draws(seed, 4).join(',')));
  assert.equal(firstDraws.size, seeds.length);
});

test('createRng rejects invalid seeds', () => {
  for (const seed of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '7', undefined]) {
    assert.throws(
      () => createRng(seed as number),
      (error: unknown) => {
        assert.ok(error instanceof InvalidSeedError);
        assert.equal(error.code, 'FL_DATA_INVALID_SEED');
        assert.equal(error.name, 'InvalidSeedError');
        assert.equal(error.seed, seed);
        return true;
      },
      `seed ${String(seed)}`
    );
  }
});

test('nextFloat stays in [0, 1)', () => {
  const rng = createRng(7);
  let sum = 0;
  const n = 100_000;
  for (let i = 0; i < n; i++) {
    const value = rng.nextFloat();
    assert.ok(value >= 0, `value ${value} below 0`);
    assert.ok(value < 1, `value ${value} not below 1`);
    sum += value;
  }
  // Mean of U(0,1) is 0.5 with standard error 1/sqrt(12 n), about 0.0009 here.
  assert.ok(Math.abs(sum / n - 0.5) < 0.005, `mean ${sum / n}`);
});

test('nextInt covers range uniformly', () => {
  const rng = createRng(3);
  const n = 7;
  const draws = 70_000;
  const counts = new Array<number>(n).fill(0);
  for (let i = 0; i < draws; i++) {
    const value = rng.nextInt(n);
    assert.ok(Number.isInteger(value), `value ${value} is not an integer`);
    assert.ok(value >= 0, `value ${value} below 0`);
    assert.ok(value < n, `value ${value} not below ${n}`);
    counts[value]!++;
  }
  const expected = draws / n;
  const chiSquare = counts.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
  // 6 degrees of freedom: the 99.9th percentile of chi-square is 22.46.
  assert.ok(chiSquare < 22.46, `chi-square ${chiSquare} for counts ${counts.join(', ')}`);
});

test('nextInt accepts bounds 1 and 2^32', () => {
  const rng = createRng(5);
  assert.equal(rng.nextInt(1), 0);
  const value = rng.nextInt(2 ** 32);
  assert.ok(value >= 0, `value ${value} below 0`);
  assert.ok(value < 2 ** 32, `value ${value} not below 2^32`);
});

test('nextInt rejects invalid bounds', () => {
  const rng = createRng(5);
  for (const n of [0, -1, 2.5, 2 ** 32 + 1, Number.NaN]) {
    assert.throws(
      () => rng.nextInt(n),
      (error: unknown) => {
        assert.ok(error instanceof InvalidArgumentError);
        assert.equal(error.argument, 'n');
        return true;
      },
      `n = ${n}`
    );
  }
});

test('shuffleInPlace returns permutation', () => {
  const values = Array.from({ length: 50 }, (_, i) => i);
  const shuffled = shuffleInPlace([...values], createRng(11));
  assert.notDeepEqual(shuffled, values);
  assert.deepEqual(
    [...shuffled].sort((a, b) => a - b),
    values
  );
});

test('shuffleInPlace is deterministic per seed', () => {
  const first = shuffleInPlace(
    Array.from({ length: 30 }, (_, i) => i),
    createRng(9)
  );
  const second = shuffleInPlace(
    Array.from({ length: 30 }, (_, i) => i),
    createRng(9)
  );
  const other = shuffleInPlace(
    Array.from({ length: 30 }, (_, i) => i),
    createRng(10)
  );
  assert.deepEqual(first, second);
  assert.notDeepEqual(first, other);
});

test('shuffleInPlace reaches every ordering', () => {
  // Each of the 3! = 6 orderings should appear about 1000 times in 6000 shuffles.
  const rng = createRng(21);
  const counts = new Map<string, number>();
  for (let i = 0; i < 6000; i++) {
    const key = shuffleInPlace(['a', 'b', 'c'], rng).join('');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  assert.equal(counts.size, 6);
  for (const [ordering, count] of counts) {
    assert.ok(count > 850, `ordering ${ordering} appeared only ${count} times`);
    assert.ok(count < 1150, `ordering ${ordering} appeared ${count} times`);
  }
});

test('randomPermutation contains each index once', () => {
  const permutation = randomPermutation(1000, createRng(1));
  const seen = new Uint8Array(1000);
  for (const index of permutation) seen[index]!++;
  assert.ok(seen.every((count) => count === 1));
});

test('randomPermutation handles empty and single', () => {
  assert.equal(randomPermutation(0, createRng(1)).length, 0);
  assert.deepEqual([...randomPermutation(1, createRng(1))], [0]);
});
