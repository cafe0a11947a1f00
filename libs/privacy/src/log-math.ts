// Arithmetic in log space for the accountant, whose intermediate values overflow a double.

const LOG_SQRT_PI = 0.5 * Math.log(Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** Returns log(exp(a) + exp(b)) without overflow. */
export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const max = Math.max(a, b);
  return max + Math.log1p(Math.exp(-Math.abs(a - b)));
}

/**
 * Returns log(exp(a) - exp(b)) for a >= b, and -Infinity when they are equal.
 *
 * @throws RangeError when b > a, because the difference would be negative.
 */
export function logSubExp(a: number, b: number): number {
  if (b === -Infinity) return a;
  if (b > a) throw new RangeError(`logSubExp: exp(${b}) exceeds exp(${a})`);
  if (a === b) return -Infinity;
  return a + Math.log(-Math.expm1(b - a));
}

/**
 * Sum of terms with signs, each given as its log magnitude. Positive and negative terms are
 * summed apart and subtracted once at the end, so partial sums may change sign on the way.
 */
export class SignedLogSum {
  private positive = -Infinity;
  private negative = -Infinity;

  add(logMagnitude: number, sign: number): void {
    if (sign > 0) this.positive = logAddExp(this.positive, logMagnitude);
    else if (sign < 0) this.negative = logAddExp(this.negative, logMagnitude);
  }

  /**
   * Returns the log of the sum.
   *
   * @throws RangeError when the negative terms outweigh the positive ones.
   */
  log(): number {
    return logSubExp(this.positive, this.negative);
  }
}

/**
 * Returns log(erfc(x)) for every finite x, accurate to about 1e-13 relative to erfc, also for
 * large x where erfc(x) underflows (erfc(30) is about 1e-393).
 *
 * Below x = 1 it uses erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1*3*...*(2n+1)),
 * whose terms are all positive. From x = 2 it uses the continued fraction
 * erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), evaluated by
 * the modified Lentz method.
 */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 0) return Math.log(2 - Math.exp(logErfc(-x)));
  if (x < 1) return Math.log1p(-erfSeries(x));
  return -x * x - LOG_SQRT_PI - Math.log(erfcContinuedFraction(x));
}

/** erf(x) for 0 <= x < 1 from its series of positive terms. */
function erfSeries(x: number): number {
  const xx = 2 * x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= xx / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x * x) * sum;
}

/** Returns the denominator x + (1/2)/(x + 1/(x + ...)) of erfc's continued fraction, x >= 1. */
function erfcContinuedFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 5000; n++) {
    const a = n / 2;
    d = x + a * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = x + a / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return f;
}
