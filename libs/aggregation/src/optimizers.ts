import type { TensorMap } from '@asyncfl/protocol';
import type { ResolvedOptimizerConfig } from './config';
import { at, type ModelLayout } from './model';
import type { StateCommit } from './rule-base';
import { copyStateTensor, readStateScalar, type AggregationState } from './state';

/**
 * Server optimizer of FedBuff. `g` is the pseudo-gradient of a flush, which points uphill
 * because deltas are w_base - w_local, so every optimizer steps along -g. The adaptive kinds
 * follow Algorithm 2 of Reddi et al., "Adaptive Federated Optimization" (ICLR 2021), without
 * bias correction:
 *   m = beta1 m + (1 - beta1) g
 *   adam:    v = beta2 v + (1 - beta2) g^2
 *   yogi:    v = v - (1 - beta2) g^2 sign(v - g^2)
 *   adagrad: v = v + g^2
 *   w = w - lr m / (sqrt(v) + tau)
 * Momentum uses the heavy-ball buffer b = mu b + g and steps by b, or by g + mu b with Nesterov.
 * Slots are float32; each element is computed in double precision and rounded once on store.
 */
export class ServerOptimizer {
  /** First moment, or the momentum buffer. Empty for tensors that need none. */
  private readonly first: Float32Array[];
  /** Second moment. Empty for tensors that need none. */
  private readonly second: Float32Array[];
  private steps = 0;

  constructor(
    private readonly config: ResolvedOptimizerConfig,
    private readonly lr: number,
    private readonly layout: ModelLayout
  ) {
    const empty = new Float32Array(0);
    const hasFirst =
      config.kind === 'momentum' ||
      config.kind === 'adam' ||
      config.kind === 'yogi' ||
      (config.kind === 'adagrad' && config.beta1 > 0);
    const hasSecond = config.kind === 'adam' || config.kind === 'yogi' || config.kind === 'adagrad';
    const initialSecond = 'initialAccumulator' in config ? config.initialAccumulator : 0;
    this.first = layout.sizes.map((size, index) =>
      hasFirst && at(layout.trainable, index) ? new Float32Array(size) : empty
    );
    this.second = layout.sizes.map((size, index) =>
      hasSecond && at(layout.trainable, index) ? new Float32Array(size).fill(initialSecond) : empty
    );
  }

  describe(): string {
    const config = this.config;
    switch (config.kind) {
      case 'sgd':
        return 'sgd';
      case 'momentum':
        return `momentum ${config.momentum}${config.nesterov ? ' nesterov' : ''}`;
      case 'adam':
      case 'yogi':
        return `${config.kind} beta1=${config.beta1} beta2=${config.beta2} tau=${config.tau}`;
      case 'adagrad':
        return `adagrad beta1=${config.beta1} tau=${config.tau}`;
    }
  }

  /**
   * Steps the trainable tensor at spec position `index` by its pseudo-gradient
   * g[e] = gradient[e] * scale. Reads the first `weights.length` entries of `gradient`.
   */
  step(index: number, weights: Float32Array, gradient: Float64Array, scale: number): void {
    const config = this.config;
    const lr = this.lr;
    switch (config.kind) {
      case 'sgd':
        stepSgd(weights, gradient, scale, lr);
        return;
      case 'momentum':
        stepMomentum(weights, gradient, scale, lr, at(this.first, index), config);
        return;
      case 'adam':
        stepAdam(
          weights,
          gradient,
          scale,
          lr,
          at(this.first, index),
          at(this.second, index),
          config
        );
        return;
      case 'yogi':
        stepYogi(
          weights,
          gradient,
          scale,
          lr,
          at(this.first, index),
          at(this.second, index),
          config
        );
        return;
      case 'adagrad':
        stepAdagrad(
          weights,
          gradient,
          scale,
          lr,
          at(this.first, index),
          at(this.second, index),
          config
        );
        return;
    }
  }

  /** Counts one completed step over all tensors. */
  finishStep(): void {
    this.steps++;
  }

  exportTo(tensors: TensorMap, scalars: Record<string, number>): void {
    scalars['optimizer.steps'] = this.steps;
    for (const index of this.layout.trainableIndices) {
      const name = at(this.layout.names, index);
      const first = at(this.first, index);
      const second = at(this.second, index);
      if (first.length > 0) tensors.set(`optimizer.first/${name}`, Float32Array.from(first));
      if (second.length > 0) tensors.set(`optimizer.second/${name}`, Float32Array.from(second));
    }
  }

  /** Checks the optimizer's part of a state and returns the work that installs it. */
  stageImport(state: AggregationState, expectedKeys: Set<string>): StateCommit[] {
    const steps = readStateScalar(state, 'optimizer.steps', { min: 0, integer: true });
    const staged: { target: Float32Array; values: Float32Array }[] = [];
    for (const index of this.layout.trainableIndices) {
      const name = at(this.layout.names, index);
      const slots = [
        { key: `optimizer.first/${name}`, target: at(this.first, index) },
        { key: `optimizer.second/${name}`, target: at(this.second, index) },
      ];
      for (const { key, target } of slots) {
        // A tensor with no elements has no slot array to tell whether the optimizer uses it.
        if (target.length === 0) continue;
        expectedKeys.add(key);
        const values = new Float32Array(target.length);
        copyStateTensor(state, key, values);
        staged.push({ target, values });
      }
    }
    return [
      () => {
        this.steps = steps;
        for (const { target, values } of staged) target.set(values);
      },
    ];
  }
}

function stepSgd(weights: Float32Array, gradient: Float64Array, scale: number, lr: number) {
  const factor = lr * scale;
  for (let e = 0; e < weights.length; e++) {
    weights[e] = (weights[e] as number) - factor * (gradient[e] as number);
  }
}

function stepMomentum(
  weights: Float32Array,
  gradient: Float64Array,
  scale: number,
  lr: number,
  buffer: Float32Array,
  config: { readonly momentum: number; readonly nesterov: boolean }
) {
  const mu = config.momentum;
  if (config.nesterov) {
    for (let e = 0; e < weights.length; e++) {
      const g = (gradient[e] as number) * scale;
      const b = mu * (buffer[e] as number) + g;
      buffer[e] = b;
      weights[e] = (weights[e] as number) - lr * (g + mu * b);
    }
    return;
  }
  for (let e = 0; e < weights.length; e++) {
    const b = mu * (buffer[e] as number) + (gradient[e] as number) * scale;
    buffer[e] = b;
    weights[e] = (weights[e] as number) - lr * b;
  }
}

interface AdaptiveConfig {
  readonly beta1: number;
  readonly beta2: number;
  readonly tau: number;
}

function stepAdam(
  weights: Float32Array,
  gradient: Float64Array,
  scale: number,
  lr: number,
  first: Float32Array,
  second: Float32Array,
  config: AdaptiveConfig
) {
  const { beta1, beta2, tau } = config;
  const oneMinusBeta1 = 1 - beta1;
  const oneMinusBeta2 = 1 - beta2;
  for (let e = 0; e < weights.length; e++) {
    const g = (gradient[e] as number) * scale;
    const m = beta1 * (first[e] as number) + oneMinusBeta1 * g;
    const v = beta2 * (second[e] as number) + oneMinusBeta2 * g * g;
    first[e] = m;
    second[e] = v;
    weights[e] = (weights[e] as number) - (lr * m) / (Math.sqrt(v) + tau);
  }
}

function stepYogi(
  weights: Float32Array,
  gradient: Float64Array,
  scale: number,
  lr: number,
  first: Float32Array,
  second: Float32Array,
  config: AdaptiveConfig
) {
  const { beta1, beta2, tau } = config;
  const oneMinusBeta1 = 1 - beta1;
  const oneMinusBeta2 = 1 - beta2;
  for (let e = 0; e < weights.length; e++) {
    const g = (gradient[e] as number) * scale;
    const g2 = g * g;
    const previous = second[e] as number;
    const m = beta1 * (first[e] as number) + oneMinusBeta1 * g;
    const v = previous - oneMinusBeta2 * g2 * Math.sign(previous - g2);
    first[e] = m;
    second[e] = v;
    weights[e] = (weights[e] as number) - (lr * m) / (Math.sqrt(v) + tau);
  }
}

function stepAdagrad(
  weights: Float32Array,
  gradient: Float64Array,
  scale: number,
  lr: number,
  first: Float32Array,
  second: Float32Array,
  config: AdaptiveConfig
) {
  const { beta1, tau } = config;
  const oneMinusBeta1 = 1 - beta1;
  const useMomentum = first.length > 0;
  for (let e = 0; e < weights.length; e++) {
    const g = (gradient[e] as number) * scale;
    const v = (second[e] as number) + g * g;
    second[e] = v;
    let m = g;
    if (useMomentum) {
      m = beta1 * (first[e] as number) + oneMinusBeta1 * g;
      first[e] = m;
    }
    weights[e] = (weights[e] as number) - (lr * m) / (Math.sqrt(v) + tau);
  }
}
