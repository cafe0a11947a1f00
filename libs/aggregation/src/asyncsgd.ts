import type { ModelSpec, TensorMap } from '@asyncfl/protocol';
import type { ResolvedAsyncSgdConfig } from './config';
import { blend, clampUnit, subtractScaled } from './kernels';
import { at } from './model';
import { RuleBase, type Evaluation, type Rejection, type StateCommit } from './rule-base';
import { describeStaleness } from './staleness';
import { RULE_CODES } from './state';
import type { SubmitResult, UpdateInput } from './types';
import { exampleFactor } from './weighting';

/**
 * Asynchronous SGD on raw gradients from one local step: w = w - lr * a * g with weight
 * a = s(d) * example factor, one new version per update. Non-trainable tensors blend towards
 * the worker's values with w = (1 - a) w + a v, a clamped to [0, 1].
 */
export class AsyncSgdRule extends RuleBase {
  constructor(
    private readonly config: ResolvedAsyncSgdConfig,
    spec: ModelSpec,
    initial: TensorMap,
    startVersion = 0
  ) {
    super(config, RULE_CODES.asyncsgd, 'async SGD', spec, initial, startVersion, 0);
  }

  describe(): string {
    const common = this.describeCommon(describeStaleness(this.config.staleness));
    return `async SGD (lr=${this.config.lr}, ${common})`;
  }

  pending(): string[] {
    return [];
  }

  protected checkRuleSpecific(): Rejection | null {
    return null;
  }

  protected weighUpdate(update: UpdateInput, stalenessWeight: number): number {
    const mean = this.exampleMean.meanWith(update.numExamples, 1);
    return stalenessWeight * exampleFactor(this.common.exampleWeighting, update.numExamples, mean);
  }

  protected accept(update: UpdateInput, evaluation: Evaluation): SubmitResult {
    const { weight, tensors, norm, staleness } = evaluation;
    this.exampleMean.add(update.numExamples, 1);
    const coefficient = this.config.lr * weight * this.clipScale(norm);
    for (const index of this.layout.trainableIndices) {
      subtractScaled(at(this.current, index), at(tensors, index), coefficient);
    }
    const beta = clampUnit(weight);
    for (const index of this.layout.nonTrainableIndices) {
      blend(at(this.current, index), at(tensors, index), beta);
    }
    this.versionCounter++;
    return { applied: [update.id], appliedWeights: [weight], newVersion: true, weight, staleness };
  }

  protected exportRuleState(): void {}

  protected importRuleState(): StateCommit[] {
    return [];
  }
}
