import { InvalidPrivacyParameterError } from './errors';
import { SignedLogSum, logAddExp, logErfc } from './log-math';

/**
 * Log magnitudes below this end the fractional-order series once its coefficients shrink: such a
 * term is below 1e-13, while the sum A_alpha is at least 1.
 */
const NEGLIGIBLE_LOG_TERM = -30;
/** Cap on the terms of the fractional-order series, far above the count needed to converge. */
const MAX_SERIES_TERMS = 100_000;

/**
 * Returns the Rényi differential privacy of one release of the sampled Gaussian mechanism at
 * `order` alpha > 1: each record is included independently with probability `samplingRate` q
 * (Poisson sampling), the included records' contributions are clipped to L2 norm C and summed,
 * and Gaussian noise of standard deviation `noiseMultiplier` * C is added. Neighbouring datasets
 * differ by adding or removing one record.
 *
 * The value is log(A_alpha) / (alpha - 1) with A_alpha = E_{z ~ N(0, s^2)}[((1 - q) + q
 * exp((2z - 1) / (2 s^2)))^alpha] and s = `noiseMultiplier`, from Mironov, Talwar and Zhang,
 * "Rényi Differential Privacy of the Sampled Gaussian Mechanism" (2019, arXiv:1908.10530).
 * Integer orders use the finite binomial expansion of A_alpha, fractional orders two convergent
 * series split at the point where (1 - q) N(0, s^2) and q N(1, s^2) have equal density.
 * Special cases: 0 for q = 0, alpha / (2 s^2) for q = 1 (the Gaussian mechanism without
 * sampling), and Infinity for a noise multiplier of 0 or an infinite order.
 *
 * @throws InvalidPrivacyParameterError for q outside [0, 1], a negative or non-finite noise
 *   multiplier, or an order that is not > 1.
 */
export function sampledGaussianRdp(
  samplingRate: number,
  noiseMultiplier: number,
  order: number
): number {
  validateSamplingRate(samplingRate);
  validateNoiseMultiplier(noiseMultiplier);
  validateOrder(order);
  if (samplingRate === 0) return 0;
  if (noiseMultiplier === 0 || order === Infinity) return Infinity;
  if (samplingRate === 1) return order / (2 * noiseMultiplier * noiseMultiplier);
  const logA = Number.isInteger(order)
    ? logAIntegerOrder(samplingRate, noiseMultiplier, order)
    : logAFractionalOrder(samplingRate, noiseMultiplier, order);
  return logA / (order - 1);
}

/** Returns `sampledGaussianRdp` at each of `orders`. */
export function sampledGaussianRdpAt(
  samplingRate: number,
  noiseMultiplier: number,
  orders: readonly number[]
): Float64Array {
  return Float64Array.from(orders, (order) =>
    sampledGaussianRdp(samplingRate, noiseMultiplier, order)
  );
}

/** log A_alpha = log sum_k C(alpha, k) (1 - q)^(alpha - k) q^k exp((k^2 - k) / (2 s^2)). */
function logAIntegerOrder(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const twoVariance = 2 * sigma * sigma;
  let logBinomial = 0;
  let logA = -Infinity;
  for (let k = 0; k <= alpha; k++) {
    if (k > 0) logBinomial += Math.log(alpha - k + 1) - Math.log(k);
    const logTerm = logBinomial + k * logQ + (alpha - k) * log1mQ + (k * k - k) / twoVariance;
    logA = logAddExp(logA, logTerm);
  }
  return logA;
}

/**
 * log A_alpha for a fractional alpha. With z0 = s^2 log(1/q - 1) + 1/2, the integrand is
 * expanded below z0 in powers of q r / (1 - q) and above z0 in powers of (1 - q) / (q r),
 * where r = exp((2z - 1) / (2 s^2)) is the density ratio N(1, s^2) / N(0, s^2). Both ratios are
 * below 1 on their side, so both binomial series converge. Term i of the lower series is
 * C(alpha, i) q^i (1 - q)^(alpha - i) exp((i^2 - i) / (2 s^2)) P(N(i, s^2) < z0), and term i of
 * the upper series the same with i and j = alpha - i swapped in the powers and the exponent,
 * times P(N(j, s^2) > z0).
 */
function logAFractionalOrder(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const twoVariance = 2 * sigma * sigma;
  const erfcScale = Math.SQRT2 * sigma;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  const lower = new SignedLogSum();
  const upper = new SignedLogSum();

  // C(alpha, i) as its log magnitude and sign, updated by the factor (alpha - i + 1) / i.
  let logBinomial = 0;
  let sign = 1;
  for (let i = 0; i < MAX_SERIES_TERMS; i++) {
    if (i > 0) {
      const factor = (alpha - i + 1) / i;
      logBinomial += Math.log(Math.abs(factor));
      if (factor < 0) sign = -sign;
    }

    const j = alpha - i;
    const logLower =
      logBinomial +
      i * logQ +
      j * log1mQ +
      (i * i - i) / twoVariance +
      Math.log(0.5) +
      logErfc((i - z0) / erfcScale);
    const logUpper =
      logBinomial +
      j * logQ +
      i * log1mQ +
      (j * j - j) / twoVariance +
      Math.log(0.5) +
      logErfc((z0 - j) / erfcScale);
    lower.add(logLower, sign);
    upper.add(logUpper, sign);
    // The coefficients shrink in magnitude from i = alpha on, so the series is cut off only there.
    if (i > alpha && Math.max(logLower, logUpper) < NEGLIGIBLE_LOG_TERM) break;
  }
  return logAddExp(lower.log(), upper.log());
}

export function validateSamplingRate(samplingRate: number): void {
  if (!(samplingRate >= 0 && samplingRate <= 1)) {
    throw new InvalidPrivacyParameterError('sampling rate', samplingRate, 'a number in [0, 1]');
  }
}

export function validateNoiseMultiplier(noiseMultiplier: number): void {
  if (!(Number.isFinite(noiseMultiplier) && noiseMultiplier >= 0)) {
    throw new InvalidPrivacyParameterError(
      'noise multiplier',
      noiseMultiplier,
      'a finite number >= 0'
    );
  }
}

export function validateOrder(order: number): void {
  if (!(order > 1)) {
    throw new InvalidPrivacyParameterError('RDP order', order, 'a number > 1 (or Infinity)');
  }
}
