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

const TWO_POW_31 = 0x8000_0000;
const TWO_POW_32 = 0x1_0000_0000;
/** Random words drawn per refill. */
const WORDS_PER_CHUNK = 8192;

/**
 * Returns Gaussian noise from the operating system's cryptographically secure random number
 * generator (node:crypto `randomFillSync`), the source for real privacy guarantees.
 *
 * NOTE: the draws are rounded to float32 or float64 like those of any floating-point sampler,
 * and the low bits of such noisy values are known to leak information about the exact value
 * underneath. No mitigation, such as discrete or snapped noise, is implemented.
 */
export function createSecureGaussianNoise(): GaussianNoise {
  return new PolarNoise({ fill: (words) => randomFillSync(words) });
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
  return new PolarNoise(new Xoshiro128Words(seed));
}

/**
 * Marsaglia's polar method: for (u, v) uniform on the unit disc without its center, with
 * s = u^2 + v^2, the values u f and v f with f = sqrt(-2 ln(s) / s) are two independent
 * standard normal draws. Points outside the disc (about 21 %) are drawn again. u and v have 32
 * random bits each, so the largest draw is about 9.3 standard deviations.
 */
class PolarNoise implements GaussianNoise {
  private readonly words = new Uint32Array(WORDS_PER_CHUNK);
  private next = WORDS_PER_CHUNK;

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
      if (this.next + 2 > WORDS_PER_CHUNK) {
        this.source.fill(words);
        this.next = 0;
      }
      // Midpoints of 2^32 equal intervals of (-1, 1), so neither coordinate is ever 0 or 1.
      const u = (words[this.next]! + 0.5) / TWO_POW_31 - 1;
      const v = (words[this.next + 1]! + 0.5) / TWO_POW_31 - 1;
      this.next += 2;
      const s = u * u + v * v;
      if (s >= 1) continue;
      const factor = standardDeviation * Math.sqrt((-2 * Math.log(s)) / s);
      values[position] = values[position]! + u * factor;
      if (position + 1 < values.length) values[position + 1] = values[position + 1]! + v * factor;
      position += 2;
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
