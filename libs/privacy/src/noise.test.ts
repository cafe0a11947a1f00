import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidPrivacyParameterError } from './errors';
import { createSecureGaussianNoise, createSeededGaussianNoise, type GaussianNoise } from './noise';

interface Moments {
  mean: number;
  std: number;
  /** Fraction of draws beyond two standard deviations; 0.0455 for a normal distribution. */
  beyondTwoStd: number;
}

function moments(noise: GaussianNoise, count: number, std: number): Moments {
  const values = new Float64Array(count);
  noise.addTo(values, std);
  let sum = 0;
  let squares = 0;
  let beyond = 0;
  for (const value of values) {
    sum += value;
    squares += value * value;
    if (Math.abs(value) > 2 * std) beyond++;
  }
  const mean = sum / count;
  return { mean, std: Math.sqrt(squares / count - mean * mean), beyondTwoStd: beyond / count };
}

describe('Gaussian noise', () => {
  for (const [name, create] of [
    ['seeded', () => createSeededGaussianNoise(3)],
    ['secure', () => createSecureGaussianNoise()],
  ] as const) {
    it(`${name} draws have the requested mean and standard deviation`, () => {
      // 200,000 draws: the standard error of the sample std is about 0.16 % of sigma.
      const result = moments(create(), 200_001, 2.5);
      assert.ok(Math.abs(result.mean) < 0.03, `mean ${result.mean}`);
      assert.ok(Math.abs(result.std / 2.5 - 1) < 0.01, `std ${result.std}`);
      assert.ok(Math.abs(result.beyondTwoStd - 0.0455) < 0.003, `tail ${result.beyondTwoStd}`);
    });
  }

  it('adds to the existing values', () => {
    const values = new Float32Array(1000).fill(10);
    createSeededGaussianNoise(1).addTo(values, 0.001);
    for (const value of values) assert.ok(Math.abs(value - 10) < 0.01);
  });

  it('repeats the draws of a seed', () => {
    const a = new Float32Array(10_000);
    const b = new Float32Array(10_000);
    createSeededGaussianNoise(42).addTo(a, 1);
    createSeededGaussianNoise(42).addTo(b, 1);
    assert.deepEqual(a, b);
    const c = new Float32Array(10_000);
    createSeededGaussianNoise(43).addTo(c, 1);
    assert.notDeepEqual(a, c);
  });

  it('leaves values unchanged at standard deviation 0', () => {
    const values = Float32Array.from([1, 2, 3]);
    createSecureGaussianNoise().addTo(values, 0);
    assert.deepEqual(values, Float32Array.from([1, 2, 3]));
  });

  it('rejects an invalid standard deviation or seed', () => {
    const noise = createSeededGaussianNoise(1);
    assert.throws(() => noise.addTo(new Float32Array(1), -1), InvalidPrivacyParameterError);
    assert.throws(() => noise.addTo(new Float32Array(1), Infinity), InvalidPrivacyParameterError);
    assert.throws(() => createSeededGaussianNoise(0.5), InvalidPrivacyParameterError);
  });
});
