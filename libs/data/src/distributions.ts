import { InvalidArgumentError } from './errors';
import type { Rng } from './rng';

// Samplers built on `Rng`, so that every process given the same seed draws the same values.

/** Returns a standard normal sample (Box-Muller transform, one of the pair). */
export function sampleNormal(rng: Rng): number {
  // 1 - u lies in (0, 1], so the logarithm is finite.
  const radius = Math.sqrt(-2 * Math.log(1 - rng.nextFloat()));
  return radius * Math.cos(2 * Math.PI * rng.nextFloat());
}

/**
 * Returns the natural logarithm of a Gamma(shape, 1) sample. Shapes of at least 1 use the
 * Marsaglia-Tsang squeeze method (ACM TOMS 26(3), 2000). A smaller shape a uses
 * Gamma(a) = Gamma(a + 1) · U^(1/a), kept in log space because U^(1/a) underflows to 0 for
 * small a.
 */
export function sampleLogGamma(rng: Rng, shape: number): number {
  if (!(shape > 0 && Number.isFinite(shape))) {
    throw new InvalidArgumentError('shape', shape, 'a finite number > 0');
  }
  if (shape < 1) {
    return sampleLogGamma(rng, shape + 1) + Math.log(1 - rng.nextFloat()) / shape;
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = sampleNormal(rng);
    const base = 1 + c * x;
    if (base <= 0) continue;
    const v = base * base * base;
    const logU = Math.log(1 - rng.nextFloat());
    if (logU < 0.5 * x * x + d - d * v + d * Math.log(v)) return Math.log(d * v);
  }
}

/**
 * Returns a sample of the symmetric Dirichlet distribution with `size` components and
 * concentration `alpha` each: normalized Gamma(alpha, 1) samples. The components are
 * non-negative and sum to 1 up to rounding, also for alphas so small that every Gamma sample
 * would underflow to 0 outside log space.
 */
export function sampleDirichlet(rng: Rng, alpha: number, size: number): Float64Array {
  if (!Number.isSafeInteger(size) || size < 1) {
    throw new InvalidArgumentError('size', size, 'an integer >= 1');
  }
  const logs = Float64Array.from({ length: size }, () => sampleLogGamma(rng, alpha));
  const max = logs.reduce((a, b) => Math.max(a, b), -Infinity);
  const weights = logs.map((value) => Math.exp(value - max));
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((weight) => weight / total);
}

/**
 * Divides `total` items into integer counts proportional to `shares` (largest-remainder method,
 * ties to the lower index). The counts sum to `total` exactly.
 */
export function apportion(shares: ArrayLike<number>, total: number): number[] {
  const values = Array.from(shares);
  const sum = values.reduce((a, b) => a + b, 0);
  const exact = values.map((share) => (share / sum) * total);
  const counts = exact.map((value) => Math.floor(value));
  let remaining = total - counts.reduce((a, b) => a + b, 0);
  const order = exact
    .map((value, index) => ({ index, remainder: value - Math.floor(value) }))
    .sort((a, b) => b.remainder - a.remainder || a.index - b.index);
  for (const { index } of order) {
    if (remaining <= 0) break;
    counts[index]!++;
    remaining--;
  }
  return counts;
}
