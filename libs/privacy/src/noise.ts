import { randomFillSync } from 'node:crypto';
import { InvalidPrivacyParameterError } from './errors';

/** Source of Gaussian noise for the privacy mechanisms. */
export interface GaussianNoise {
  /** Adds independent draws of N(0, standardDeviation^2) to every element of `values`. */
  addTo(values: Float32Array | Float64Array, standardDeviation: number): void;
}

/** Source of uniformly random 32-bit words. */
interface WordSource {
  fill(words: Uint32Array): void;
}

const TWO_POW_32 = 0x1_0000_0000;
const TWO_POW_53 = 2 ** 53;
/** Words per pair of normal draws: two for the radius (53 bits), one for the angle. */
const WORDS_PER_PAIR = 3;
/** Pairs generated per refill of the word buffer. */
const PAIRS_PER_CHUNK = 4096;

/**
 * Returns Gaussian noise from the operating system's cryptographically secure random number
 * generator (node:crypto `randomFillSync`), the source for real privacy guarantees.
 *
 * NOTE: the draws are rounded to float32 or float64 like those of any floating-point sampler,
 * and the low bits of such noisy values are known to leak information about the exact value
 * underneath. No mitigation, such as discrete or snapped noise, is implemented.
 */
export function createSecureGaussianNoise(): GaussianNoise {
  return new BoxMullerNoise({ fill: (words) => randomFillSync(words) });
}

/**
 * Returns Gaussian noise from a seeded pseudo-random generator (xoshiro128**). The same seed
 * gives the same draws, for tests and benchmarks. It gives no privacy against anyone who can
 * learn or guess the seed, so services use `createSecureGaussianNoise`.
 *
 * @throws InvalidPrivacyParameterError when `seed` is not a safe integer.
 */
export function createSeededGaussianNoise(seed: number): GaussianNoise {
  if (!Number.isSafeInteger(seed)) {
    throw new InvalidPrivacyParameterError('noise seed', seed, 'a safe integer');
  }
  return new BoxMullerNoise(new Xoshiro128Words(seed));
}

/**
 * Box-Muller transform: for U1 in (0, 1] and U2 in [0, 1), sqrt(-2 ln U1) times cos(2 pi U2)
 * and sin(2 pi U2) are two independent standard normal draws. U1 has 53 random bits, so the
 * largest draw is about 8.6 standard deviations.
 */
class BoxMullerNoise implements GaussianNoise {
  private readonly words = new Uint32Array(PAIRS_PER_CHUNK * WORDS_PER_PAIR);

  constructor(private readonly source: WordSource) {}

  addTo(values: Float32Array | Float64Array, standardDeviation: number): void {
    if (!(Number.isFinite(standardDeviation) && standardDeviation >= 0)) {
      throw new InvalidPrivacyParameterError(
        'noise standard deviation',
        standardDeviation,
        'a finite number >= 0'
      );
    }
    if (standardDeviation === 0) return;
    const words = this.words;
    let position = 0;
    while (position < values.length) {
      const pairs = Math.min(PAIRS_PER_CHUNK, Math.ceil((values.length - position) / 2));
      this.source.fill(words);
      for (let pair = 0; pair < pairs; pair++) {
        const offset = pair * WORDS_PER_PAIR;
        // 53-bit integer in [0, 2^53), mapped to (0, 1] so that the logarithm is finite.
        const bits = (words[offset]! >>> 5) * 67_108_864 + (words[offset + 1]! >>> 6);
        const u1 = (bits + 1) / TWO_POW_53;
        const angle = (2 * Math.PI * words[offset + 2]!) / TWO_POW_32;
        const radius = standardDeviation * Math.sqrt(-2 * Math.log(u1));
        values[position] = values[position]! + radius * Math.cos(angle);
        if (position + 1 < values.length) {
          values[position + 1] = values[position + 1]! + radius * Math.sin(angle);
        }
        position += 2;
      }
    }
  }
}

/** xoshiro128** (Blackman and Vigna, 2018), seeded through splitmix32. */
class Xoshiro128Words implements WordSource {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    let state = (seed >>> 0) ^ Math.floor(seed / TWO_POW_32);
    const next = (): number => {
      state = (state + 0x9e3779b9) | 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  fill(words: Uint32Array): void {
    for (let index = 0; index < words.length; index++) {
      const result = Math.imul(rotateLeft(Math.imul(this.s1, 5), 7), 9) >>> 0;
      const shifted = this.s1 << 9;
      this.s2 ^= this.s0;
      this.s3 ^= this.s1;
      this.s1 ^= this.s2;
      this.s0 ^= this.s3;
      this.s2 ^= shifted;
      this.s3 = rotateLeft(this.s3, 11);
      words[index] = result;
    }
  }
}

function rotateLeft(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}
