import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidPrivacyParameterError } from './errors';
import { sampledGaussianRdp, sampledGaussianRdpAt } from './rdp';

function assertClose(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what}: got ${actual}, expected ${expected} within ${tolerance}`
  );
}

describe('sampledGaussianRdp', () => {
  // Expected values from TensorFlow Privacy's rdp_accountant_test.py (tensorflow/privacy on
  // GitHub): test_compute_rdp_scalar and test_compute_rdp_sequence, which give the RDP of
  // `steps` compositions, checked there to 5 decimal places.
  it('matches TensorFlow Privacy for q 0.1, sigma 2, 10 steps, order 5', () => {
    assertClose(10 * sampledGaussianRdp(0.1, 2, 5), 0.07737, 1e-5, 'RDP');
  });

  it('matches TensorFlow Privacy for q 0.01, sigma 2.5, 50 steps', () => {
    const orders = [1.5, 2.5, 5, 50, 100];
    const expected = [0.00065, 0.001085, 0.00218075, 0.023846, 167.416307];
    const rdp = sampledGaussianRdpAt(0.01, 2.5, orders);
    orders.forEach((order, index) => {
      assertClose(50 * rdp[index]!, expected[index]!, 1e-5, `RDP at order ${order}`);
    });
  });

  // log(A_alpha) from numerical integration of E_{z~N(0,s^2)}[(1 - q + q N(1,s^2)/N(0,s^2))^alpha]
  // with mpmath 1.3.0 (quad at 50 digits). These parameters keep the integrand smooth enough
  // for quad to be accurate to about 1e-12.
  const INTEGRATED: readonly [number, number, number, number][] = [
    [1e-4, 1, 1.5, 6.4426869703639565e-9],
    [1e-3, 1, 2, 1.7182803522127806e-6],
    [0.01, 10, 20, 0.00019129699912825616],
    [0.1, 100, 20.5, 0.00019991818458125194],
    [0.999, 100, 256.1, 3.2601080379731127],
    [256 / 60000, 1.12, 8.8, 0.00080303100293203922],
    [0.05, 0.8, 3.7, 0.10126411321255165],
  ];
  for (const [q, sigma, order, logA] of INTEGRATED) {
    it(`matches numerical integration at q ${q}, sigma ${sigma}, order ${order}`, () => {
      const actual = sampledGaussianRdp(q, sigma, order) * (order - 1);
      assertClose(actual, logA, Math.abs(logA) * 1e-8, 'log A');
    });
  }

  it('is alpha / (2 sigma^2) without sampling', () => {
    assert.equal(sampledGaussianRdp(1, 10, 20), 0.1);
    assertClose(sampledGaussianRdp(1, 2, 3.5), 3.5 / 8, 1e-15, 'RDP');
  });

  it('is 0 when nothing is sampled', () => {
    assert.equal(sampledGaussianRdp(0, 1, 20), 0);
  });

  it('is infinite without noise or at an infinite order', () => {
    assert.equal(sampledGaussianRdp(0.1, 0, 2), Infinity);
    assert.equal(sampledGaussianRdp(0.1, 1, Infinity), Infinity);
  });

  it('agrees between integer and nearby fractional orders', () => {
    const atInteger = sampledGaussianRdp(0.02, 1.1, 8);
    const below = sampledGaussianRdp(0.02, 1.1, 8 - 1e-9);
    const above = sampledGaussianRdp(0.02, 1.1, 8 + 1e-9);
    assertClose(below, atInteger, 1e-9, 'order just below 8');
    assertClose(above, atInteger, 1e-9, 'order just above 8');
  });

  it('grows with the sampling rate and shrinks with the noise', () => {
    const base = sampledGaussianRdp(0.01, 1, 10);
    assert.ok(sampledGaussianRdp(0.02, 1, 10) > base);
    assert.ok(sampledGaussianRdp(0.01, 1.5, 10) < base);
  });

  it('rejects parameters out of range', () => {
    assert.throws(() => sampledGaussianRdp(1.5, 1, 2), InvalidPrivacyParameterError);
    assert.throws(() => sampledGaussianRdp(-0.1, 1, 2), InvalidPrivacyParameterError);
    assert.throws(() => sampledGaussianRdp(0.1, -1, 2), InvalidPrivacyParameterError);
    assert.throws(() => sampledGaussianRdp(0.1, Number.NaN, 2), InvalidPrivacyParameterError);
    assert.throws(() => sampledGaussianRdp(0.1, 1, 1), InvalidPrivacyParameterError);
    assert.throws(() => sampledGaussianRdp(0.1, 1, 0.5), InvalidPrivacyParameterError);
  });
});
