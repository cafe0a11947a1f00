import { epsilonFromRdp, type PrivacySpent, type RdpConversion } from './conversion';
import { InvalidPrivacyParameterError } from './errors';
import { sampledGaussianRdpAt, validateOrder } from './rdp';

/**
 * RDP orders tracked by default: 1.1 to 10.9 in steps of 0.1, every integer from 11 to 64,
 * and 80 to 1024 for small epsilons with much noise. A finer or wider grid can only lower the
 * reported epsilon, so every grid gives a valid bound.
 */
export const DEFAULT_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, index) => 1 + (index + 1) / 10),
  ...Array.from({ length: 54 }, (_, index) => 11 + index),
  80,
  96,
  128,
  256,
  512,
  1024,
]);

/** Accountant settings. */
export interface AccountantOptions {
  /** RDP orders to track, each > 1. Defaults to `DEFAULT_ORDERS`. */
  readonly orders?: readonly number[];
  /** RDP to (epsilon, delta) conversion. Defaults to 'balle2020'. */
  readonly conversion?: RdpConversion;
}

/** Accountant state that `RdpAccountant.fromState` restores. */
export interface AccountantState {
  readonly orders: readonly number[];
  readonly rdp: readonly number[];
  readonly releases: number;
}

/**
 * Rényi-DP accountant: adds up the RDP of every release at each tracked order (RDP composes
 * by addition, also adaptively) and converts the total into (epsilon, delta).
 *
 * The RDP of one sampled Gaussian release is computed once per (sampling rate, noise
 * multiplier) pair and cached, so recording a training step costs one pass over the orders.
 */
export class RdpAccountant {
  readonly orders: readonly number[];
  readonly conversion: RdpConversion;
  private readonly total: Float64Array;
  private releaseCount = 0;
  private readonly cache = new Map<string, Float64Array>();

  /** @throws InvalidPrivacyParameterError for an empty order list or an order that is not > 1. */
  constructor(options: AccountantOptions = {}) {
    const orders = options.orders ?? DEFAULT_ORDERS;
    if (orders.length === 0) {
      throw new InvalidPrivacyParameterError('orders', '[]', 'at least one RDP order');
    }
    orders.forEach(validateOrder);
    this.orders = Object.freeze([...orders]);
    this.conversion = options.conversion ?? 'balle2020';
    this.total = new Float64Array(orders.length);
  }

  /** Number of releases recorded so far. */
  get releases(): number {
    return this.releaseCount;
  }

  /**
   * Records `count` releases of the sampled Gaussian mechanism with Poisson sampling rate
   * `samplingRate` and noise standard deviation `noiseMultiplier` times the sensitivity.
   * Use sampling rate 1 for a release that involves every record, as without sampling.
   *
   * @throws InvalidPrivacyParameterError for invalid parameters or a count that is not a
   *   non-negative integer.
   */
  addSampledGaussian(samplingRate: number, noiseMultiplier: number, count = 1): void {
    validateCount(count);
    const step = this.stepRdp(samplingRate, noiseMultiplier);
    for (let index = 0; index < step.length; index++) {
      this.total[index] = this.total[index]! + count * step[index]!;
    }
    this.releaseCount += count;
  }

  /** Returns the (epsilon, delta) guarantee of every release recorded so far. */
  getPrivacySpent(delta: number): PrivacySpent {
    return epsilonFromRdp(this.orders, this.total, delta, this.conversion);
  }

  /**
   * Returns the guarantee after `count` more sampled Gaussian releases, without recording them.
   * A budget check calls this before a step.
   */
  previewPrivacySpent(
    samplingRate: number,
    noiseMultiplier: number,
    count: number,
    delta: number
  ): PrivacySpent {
    validateCount(count);
    const step = this.stepRdp(samplingRate, noiseMultiplier);
    const total = Float64Array.from(this.total, (value, index) => value + count * step[index]!);
    return epsilonFromRdp(this.orders, total, delta, this.conversion);
  }

  /** Returns a copy of the accumulated RDP and the release count, for persisting. */
  exportState(): AccountantState {
    return { orders: [...this.orders], rdp: Array.from(this.total), releases: this.releaseCount };
  }

  /**
   * Creates an accountant that continues from `state`.
   *
   * @throws InvalidPrivacyParameterError when the RDP values do not match the orders or are
   *   negative, or the release count is not a non-negative integer.
   */
  static fromState(state: AccountantState, conversion?: RdpConversion): RdpAccountant {
    const accountant = new RdpAccountant(
      conversion === undefined ? { orders: state.orders } : { orders: state.orders, conversion }
    );
    if (state.rdp.length !== state.orders.length) {
      throw new InvalidPrivacyParameterError(
        'state.rdp',
        `${state.rdp.length} values`,
        `${state.orders.length} values, one per order`
      );
    }
    state.rdp.forEach((value, index) => {
      if (!(value >= 0)) {
        throw new InvalidPrivacyParameterError(`state.rdp[${index}]`, value, 'a number >= 0');
      }
      accountant.total[index] = value;
    });
    validateCount(state.releases);
    accountant.releaseCount = state.releases;
    return accountant;
  }

  private stepRdp(samplingRate: number, noiseMultiplier: number): Float64Array {
    const key = `${samplingRate}/${noiseMultiplier}`;
    let step = this.cache.get(key);
    if (step === undefined) {
      step = sampledGaussianRdpAt(samplingRate, noiseMultiplier, this.orders);
      this.cache.set(key, step);
    }
    return step;
  }
}

function validateCount(count: number): void {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new InvalidPrivacyParameterError('release count', count, 'a non-negative integer');
  }
}
