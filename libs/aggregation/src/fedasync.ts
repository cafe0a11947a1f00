import type { ModelSpec, TensorMap } from '@asyncfl/protocol';
import type { ResolvedFedAsyncConfig } from './config';
import { blend, clampUnit, subtractScaled } from './kernels';
import { at } from './model';
import { RuleBase, reject, type Evaluation, type Rejection, type StateCommit } from './rule-base';
import { describeStaleness } from './staleness';
import { RULE_CODES, copyStateTensor, readStateScalar, type AggregationState } from './state';
import type { SubmitResult, UpdateInput } from './types';
import { exampleFactor } from './weighting';

/**
 * FedAsync (Xie et al., "Asynchronous Federated Optimization", 2019) with weight
 * a = alpha * s(d) * example factor, one new version per update.
 * - delta form: w = w - a * delta
 * - mixing form: w = (1 - a) w + a (w_base - delta), with a clamped to [0, 1]. This is the
 *   original convex mix with the worker's local model w_base - delta, so it keeps the weights of
 *   the last `window` versions to look up w_base.
 * Non-trainable tensors blend towards the worker's values: w = (1 - a) w + a v, a in [0, 1].
 */
export class FedAsyncRule extends RuleBase {
  /**
   * Mixing form only: trainable weights of versions `oldestKept` to `version`, version v in
   * slot v % window. Entries of non-trainable tensors are empty.
   */
  private readonly history: Float32Array[][];
  private oldestKept: number;

  constructor(
    private readonly config: ResolvedFedAsyncConfig,
    spec: ModelSpec,
    initial: TensorMap,
    startVersion = 0
  ) {
    super(config, RULE_CODES.fedasync, 'FedAsync', spec, initial, startVersion, 0);
    const empty = new Float32Array(0);
    const slots = config.form === 'mixing' ? config.window : 0;
    this.history = Array.from({ length: slots }, () =>
      this.layout.sizes.map((size, index) =>
        at(this.layout.trainable, index) ? new Float32Array(size) : empty
      )
    );
    this.oldestKept = this.versionCounter;
    if (config.form === 'mixing') this.snapshotInto(this.slotOf(this.versionCounter));
  }

  describe(): string {
    const { form, alpha, window, staleness } = this.config;
    const windowText = form === 'mixing' ? `, window=${window}` : '';
    const common = this.describeCommon(describeStaleness(staleness));
    return `FedAsync (${form} form, alpha=${alpha}${windowText}, ${common})`;
  }

  pending(): string[] {
    return [];
  }

  protected checkRuleSpecific(update: UpdateInput): Rejection | null {
    if (this.config.form !== 'mixing' || update.baseVersion >= this.oldestKept) return null;
    return reject(
      'window_evicted',
      `baseVersion ${update.baseVersion} has left the window of kept versions ${this.oldestKept}..${this.versionCounter} (window ${this.config.window})`
    );
  }

  protected weighUpdate(update: UpdateInput, stalenessWeight: number): number {
    const mean = this.exampleMean.meanWith(update.numExamples, 1);
    const factor = exampleFactor(this.common.exampleWeighting, update.numExamples, mean);
    return this.config.alpha * stalenessWeight * factor;
  }

  protected accept(update: UpdateInput, evaluation: Evaluation): SubmitResult {
    const { weight, tensors, norm, staleness } = evaluation;
    const clipScale = this.clipScale(norm);
    const layout = this.layout;
    this.exampleMean.add(update.numExamples, 1);

    if (this.config.form === 'delta') {
      const coefficient = weight * clipScale;
      for (const index of layout.trainableIndices) {
        subtractScaled(at(this.current, index), at(tensors, index), coefficient);
      }
    } else {
      const beta = clampUnit(weight);
      const base = at(this.history, this.slotOf(update.baseVersion));
      const next = at(this.history, this.slotOf(this.versionCounter + 1));
      for (const index of layout.trainableIndices) {
        mixAndSnapshot(
          at(this.current, index),
          at(base, index),
          at(tensors, index),
          beta,
          clipScale,
          at(next, index)
        );
      }
    }
    const beta = clampUnit(weight);
    for (const index of layout.nonTrainableIndices) {
      blend(at(this.current, index), at(tensors, index), beta);
    }

    this.versionCounter++;
    if (this.config.form === 'mixing') {
      this.oldestKept = Math.max(this.oldestKept, this.versionCounter - this.config.window + 1);
    }
    return {
      applied: [update.id],
      appliedWeights: [weight],
      newVersion: true,
      weight,
      staleness,
    };
  }

  protected exportRuleState(tensors: TensorMap, scalars: Record<string, number>): void {
    if (this.config.form !== 'mixing') return;
    scalars['window.oldestVersion'] = this.oldestKept;
    for (let version = this.oldestKept; version <= this.versionCounter; version++) {
      const slot = at(this.history, this.slotOf(version));
      for (const index of this.layout.trainableIndices) {
        const key = `window/${version}/${at(this.layout.names, index)}`;
        tensors.set(key, Float32Array.from(at(slot, index)));
      }
    }
  }

  protected importRuleState(state: AggregationState, expectedKeys: Set<string>): StateCommit[] {
    if (this.config.form !== 'mixing') return [];
    const version = state.version;
    const oldest = readStateScalar(state, 'window.oldestVersion', {
      min: Math.max(0, version - this.config.window + 1),
      max: version,
      integer: true,
    });
    const staged: { version: number; index: number; values: Float32Array }[] = [];
    for (let kept = oldest; kept <= version; kept++) {
      for (const index of this.layout.trainableIndices) {
        const key = `window/${kept}/${at(this.layout.names, index)}`;
        expectedKeys.add(key);
        const values = new Float32Array(at(this.layout.sizes, index));
        copyStateTensor(state, key, values);
        staged.push({ version: kept, index, values });
      }
    }
    return [
      () => {
        this.oldestKept = oldest;
        for (const { version: kept, index, values } of staged) {
          at(at(this.history, this.slotOf(kept)), index).set(values);
        }
      },
    ];
  }

  private slotOf(version: number): number {
    return version % this.config.window;
  }

  private snapshotInto(slot: number): void {
    const target = at(this.history, slot);
    for (const index of this.layout.trainableIndices) {
      at(target, index).set(at(this.current, index));
    }
  }
}

/**
 * w = (1 - beta) w + beta (base - clipScale * delta), also written to `snapshot`. `snapshot`
 * may be `base` itself, because each element of base is read before it is overwritten.
 */
function mixAndSnapshot(
  weights: Float32Array,
  base: Float32Array,
  delta: Float32Array,
  beta: number,
  clipScale: number,
  snapshot: Float32Array
) {
  const keep = 1 - beta;
  for (let e = 0; e < weights.length; e++) {
    const mixed =
      keep * (weights[e] as number) +
      beta * ((base[e] as number) - clipScale * (delta[e] as number));
    weights[e] = mixed;
    snapshot[e] = mixed;
  }
}
