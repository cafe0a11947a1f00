import { InvalidPrivacyParameterError } from './errors';
import { validateOrder } from './rdp';

/**
 * Conversion from RDP at order alpha to (epsilon, delta)-DP:
 *
 * - 'balle2020': epsilon = rdp + log((alpha - 1) / alpha) - (log(delta) + log(alpha)) /
 *   (alpha - 1), the improved conversion of Balle, Barthe, Gaboardi, Hsu and Sato, "Hypothesis
 *   Testing Interpretations and Renyi Differential Privacy" (AISTATS 2020, arXiv:1905.09982).
 *   It is below the classic bound for every alpha > 1, and TensorFlow Privacy's current tests
 *   expect its values.
 * - 'mironov2017': epsilon = rdp + log(1 / delta) / (alpha - 1), the classic conversion of
 *   Mironov, "Rényi Differential Privacy" (CSF 2017), which the epsilons printed in TensorFlow
 *   Privacy's MNIST tutorial follow.
 */
export type RdpConversion = 'balle2020' | 'mironov2017';

export const RDP_CONVERSIONS: readonly RdpConversion[] = ['balle2020', 'mironov2017'];

/** An (epsilon, delta) guarantee and the RDP order that gave the smallest epsilon. */
export interface PrivacySpent {
  readonly epsilon: number;
  readonly delta: number;
  /** Order of the minimum; NaN when every order gives an infinite epsilon. */
  readonly order: number;
}

/**
 * Converts RDP values at `orders` into the smallest epsilon at `delta` over those orders,
 * clamped at 0. Orders with infinite RDP give infinite epsilon, and RDP 0 gives epsilon 0.
 *
 * @throws InvalidPrivacyParameterError for delta outside (0, 1), orders that are not > 1,
 *   arrays of different lengths, or a negative or NaN RDP value.
 */
export function epsilonFromRdp(
  orders: readonly number[],
  rdp: ArrayLike<number>,
  delta: number,
  conversion: RdpConversion = 'balle2020'
): PrivacySpent {
  validateDelta(delta);
  if (orders.length !== rdp.length || orders.length === 0) {
    throw new InvalidPrivacyParameterError(
      'RDP values',
      `${rdp.length} values for ${orders.length} orders`,
      'one value per order and at least one order'
    );
  }
  if (!RDP_CONVERSIONS.includes(conversion)) {
    throw new InvalidPrivacyParameterError('conversion', conversion, RDP_CONVERSIONS.join(' or '));
  }
  const logDelta = Math.log(delta);
  let best = Infinity;
  let bestOrder = Number.NaN;
  for (let index = 0; index < orders.length; index++) {
    const order = orders[index]!;
    const value = rdp[index]!;
    validateOrder(order);
    if (!(value >= 0)) {
      throw new InvalidPrivacyParameterError(`RDP at order ${order}`, value, 'a number >= 0');
    }
    if (value === Infinity || order === Infinity) continue;
    // Rényi divergence 0 at any order means identical output distributions: (0, 0)-DP.
    const epsilon =
      value === 0
        ? 0
        : conversion === 'balle2020'
          ? value + Math.log1p(-1 / order) - (logDelta + Math.log(order)) / (order - 1)
          : value - logDelta / (order - 1);
    if (epsilon < best) {
      best = epsilon;
      bestOrder = order;
    }
  }
  return { epsilon: Math.max(0, best), delta, order: bestOrder };
}

export function validateDelta(delta: number): void {
  if (!(delta > 0 && delta < 1)) {
    throw new InvalidPrivacyParameterError('delta', delta, 'a number in (0, 1)');
  }
}
