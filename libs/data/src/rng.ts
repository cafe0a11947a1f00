import { InvalidArgumentError, InvalidSeedError } from './errors';

/** Deterministic pseudo-random number source: the same seed gives the same sequence. */
export interface Rng {
  /** Returns the next 32 random bits as an unsigned integer in [0, 2^32). */
  nextUint32(): number;
  /** Returns a float in [0, 1) with 32 random bits of resolution. */
  nextFloat(): number;
  /** Returns an integer in [0, n), uniformly distributed. `n` must be an integer in [1, 2^32]. */
  nextInt(n: number): number;
}

const TWO_POW_32 = 0x1_0000_0000;

/**
 * xoshiro128** generator by Blackman and Vigna (2018), with 128 bits of state and period
 * 2^128 - 1, against 2^32 for mulberry32. It needs only 32-bit integer operations, which
 * JavaScript runs fast with `Math.imul` and bitwise operators. Not cryptographically secure.
 */
export class Xoshiro128StarStar implements Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** Creates a generator from four 32-bit state words, which must not all be zero. */
  constructor(state: readonly [number, number, number, number]) {
    const [s0, s1, s2, s3] = state;
    for (const word of state) {
      if (!Number.isInteger(word) || word < 0 || word >= TWO_POW_32) {
        throw new InvalidArgumentError('state word', word, 'an integer in [0, 2^32)');
      }
    }
    if ((s0 | s1 | s2 | s3) === 0) {
      throw new InvalidArgumentError('state', '[0, 0, 0, 0]', 'at least one non-zero word');
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
  }

  nextUint32(): number {
    const result = Math.imul(rotateLeft(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const shifted = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= shifted;
    this.s3 = rotateLeft(this.s3, 11);
    return result;
  }

  nextFloat(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new InvalidArgumentError('n', n, 'an integer in [1, 2^32]');
    }
    // Rejection sampling removes the modulo bias: draws at or above the largest multiple of n
    // below 2^32 are discarded, which happens with probability below 1/2.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const draw = this.nextUint32();
      if (draw < limit) return draw % n;
    }
  }
}

/**
 * Creates a generator for `seed`, which may be any safe integer, negative ones included.
 * Both 32-bit halves of the seed feed a mixing function that fills the 128-bit state, so
 * nearby seeds give unrelated sequences.
 */
export function createRng(seed: number): Rng {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
    throw new InvalidSeedError(seed);
  }
  const low = seed >>> 0;
  const high = Math.floor(seed / TWO_POW_32) >>> 0;
  // A Weyl sequence (step 0x9e3779b9, from the golden ratio) passed through the murmur3
  // finalizer gives four well-mixed words even for seeds such as 0 and 1.
  let weyl = (low ^ Math.imul(high, 0x85ebca6b)) >>> 0;
  const state: [number, number, number, number] = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    weyl = (weyl + 0x9e3779b9) >>> 0;
    state[i] = mix32(weyl ^ high);
  }
  if ((state[0] | state[1] | state[2] | state[3]) === 0) state[0] = 1;
  return new Xoshiro128StarStar(state);
}

/** Shuffles `array` in place with the Fisher-Yates algorithm and returns it. */
export function shuffleInPlace<T extends { length: number; [index: number]: unknown }>(
  array: T,
  rng: Rng
): T {
  for (let i = array.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const value = array[i];
    array[i] = array[j];
    array[j] = value;
  }
  return array;
}

/** Returns the integers 0 .. n-1 in a random order drawn from `rng`. */
export function randomPermutation(n: number, rng: Rng): Uint32Array {
  const permutation = new Uint32Array(n);
  for (let i = 0; i < n; i++) permutation[i] = i;
  return shuffleInPlace(permutation, rng);
}

function rotateLeft(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

/** murmur3's 32-bit finalizer, a bijection on 32-bit words with good avalanche. */
function mix32(value: number): number {
  let z = value >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}
