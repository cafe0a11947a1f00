import type { ModelSpec, TensorMap } from '@asyncfl/protocol';
import { createSecureGaussianNoise, type GaussianNoise } from '@asyncfl/privacy';
import type { BufferAggregatorConfig, ResolvedFedBuffConfig } from './config';
import { assertOption } from './errors';
import { clampUnit, compareIds } from './kernels';
import { at } from './model';
import { ServerOptimizer } from './optimizers';
import { RuleBase, reject, type Evaluation, type Rejection, type StateCommit } from './rule-base';
import { describeStaleness } from './staleness';
import { RULE_CODES, type AggregationState } from './state';
import { insertionSort, medianOfSorted } from './trackers';
import type { SubmitResult, UpdateInput } from './types';
import { exampleFactor } from './weighting';

/** One admitted update waiting in the buffer. */
interface BufferSlot {
  id: string;
  rank: number;
  numExamples: number;
  stalenessWeight: number;
  clipScale: number;
  /** The update's arrays by spec index, kept by reference until the flush. */
  tensors: Float32Array[];
}

const EMPTY = new Float32Array(0);

/**
 * FedBuff (Nguyen et al., "Federated Learning with Buffered Asynchronous Aggregation", 2022).
 * Buffers K updates, then takes one optimizer step on the pseudo-gradient
 * g = sum_i c_i delta_i / K with c_i = s(d_i) * example factor_i * clip scale_i, and advances
 * the version by one. The sum runs in ascending id order at flush time, so the new weights do
 * not depend on arrival order within the buffer. The median and trimmed-mean aggregators
 * replace the mean by a coordinate-wise statistic of the values c_i delta_i.
 * Non-trainable tensors blend towards the weighted mean of the buffered values.
 */
export class FedBuffRule extends RuleBase {
  private readonly optimizer: ServerOptimizer;
  private readonly slots: BufferSlot[];
  private count = 0;
  private pendingExamples = 0;
  /** Scratch for a flush: canonical slot order, coefficients and per-tensor inputs. */
  private readonly order: number[];
  private readonly coefficients: Float64Array;
  private readonly blendWeights: Float64Array;
  private readonly columnValues: Float64Array;
  private readonly orderedTensors: Float32Array[];
  private readonly gradient: Float64Array;
  private readonly blendTarget: Float64Array;
  private readonly compareSlots = (left: number, right: number): number =>
    compareIds(at(this.slots, left).id, at(this.slots, right).id);
  /** Source of the flush noise; undefined without the `noise` option. */
  private readonly noise: GaussianNoise | undefined;

  /**
   * `noise` is the source of the `noise` option's draws, by default the operating system's
   * secure random number generator.
   */
  constructor(
    private readonly config: ResolvedFedBuffConfig,
    spec: ModelSpec,
    initial: TensorMap,
    startVersion = 0,
    noise?: GaussianNoise
  ) {
    // A buffer flushes as soon as it is full, so at most K - 1 updates wait in it.
    const maxBuffered = config.bufferSize - 1;
    super(config, RULE_CODES.fedbuff, 'FedBuff', spec, initial, startVersion, maxBuffered);
    const size = config.bufferSize;
    this.optimizer = new ServerOptimizer(config.optimizer, config.serverLr, this.layout);
    this.slots = Array.from({ length: size }, () => ({
      id: '',
      rank: 0,
      numExamples: 0,
      stalenessWeight: 0,
      clipScale: 1,
      tensors: this.layout.names.map(() => EMPTY),
    }));
    this.order = Array.from({ length: size }, (_, index) => index);
    this.coefficients = new Float64Array(size);
    this.blendWeights = new Float64Array(size);
    this.columnValues = new Float64Array(size);
    this.orderedTensors = Array.from({ length: size }, () => EMPTY);
    this.gradient = new Float64Array(this.layout.maxTrainableSize);
    this.blendTarget = new Float64Array(this.layout.maxNonTrainableSize);
    if (config.noise !== undefined) {
      // Non-trainable tensors are blended without noise, so they would leak the buffer.
      const nonTrainable = this.layout.nonTrainableIndices.length;
      assertOption(nonTrainable === 0, 'noise', config.noise, () => {
        return `absent for a model with ${nonTrainable} non-trainable tensors, which are blended without noise`;
      });
    }
    this.noise = config.noise === undefined ? undefined : (noise ?? createSecureGaussianNoise());
  }

  describe(): string {
    const { bufferSize, serverLr, aggregator, staleness } = this.config;
    const common = this.describeCommon(describeStaleness(staleness));
    const optimizer = this.optimizer.describe();
    const noise =
      this.config.noise === undefined
        ? ''
        : `, Gaussian noise multiplier ${this.config.noise.noiseMultiplier} per flush`;
    return `FedBuff (K=${bufferSize}, serverLr=${serverLr}, ${optimizer}, ${describeAggregator(aggregator)}${noise}, ${common})`;
  }

  pending(): string[] {
    return this.slots.slice(0, this.count).map((slot) => slot.id);
  }

  protected checkRuleSpecific(update: UpdateInput): Rejection | null {
    for (let i = 0; i < this.count; i++) {
      if (at(this.slots, i).id === update.id) {
        return reject('duplicate_update', `an update with id '${update.id}' is already buffered`);
      }
    }
    return null;
  }

  /** Returns s(d) times the example factor against the mean that includes the buffer. */
  protected weighUpdate(update: UpdateInput, stalenessWeight: number): number {
    const examples = update.numExamples;
    const mean = this.exampleMean.meanWith(this.pendingExamples + examples, this.count + 1);
    return stalenessWeight * exampleFactor(this.common.exampleWeighting, examples, mean);
  }

  protected accept(update: UpdateInput, evaluation: Evaluation): SubmitResult {
    const slot = at(this.slots, this.count);
    slot.id = update.id;
    slot.rank = update.rank;
    slot.numExamples = update.numExamples;
    slot.stalenessWeight = evaluation.stalenessWeight;
    slot.clipScale = this.clipScale(evaluation.norm);
    for (let index = 0; index < slot.tensors.length; index++) {
      slot.tensors[index] = at(evaluation.tensors, index);
    }
    this.count++;
    this.pendingExamples += update.numExamples;

    const result: SubmitResult = {
      applied: [],
      appliedWeights: [],
      newVersion: false,
      weight: evaluation.weight,
      staleness: evaluation.staleness,
    };
    if (this.count === this.config.bufferSize) this.flush(result);
    return result;
  }

  protected exportRuleState(tensors: TensorMap, scalars: Record<string, number>): void {
    this.optimizer.exportTo(tensors, scalars);
  }

  protected importRuleState(state: AggregationState, expectedKeys: Set<string>): StateCommit[] {
    return [...this.optimizer.stageImport(state, expectedKeys), () => this.clearBuffer()];
  }

  /** Applies the full buffer and records the applied ids and final weights in `result`. */
  private flush(result: SubmitResult): void {
    const size = this.config.bufferSize;
    const order = this.order;
    for (let i = 0; i < size; i++) order[i] = i;
    order.sort(this.compareSlots);

    const mean = this.exampleMean.meanWith(this.pendingExamples, size);
    let totalWeight = 0;
    for (let position = 0; position < size; position++) {
      const slot = at(this.slots, at(order, position));
      const factor = exampleFactor(this.common.exampleWeighting, slot.numExamples, mean);
      const weight = slot.stalenessWeight * factor;
      this.blendWeights[position] = weight;
      this.coefficients[position] = weight * slot.clipScale;
      totalWeight += weight;
      result.applied.push(slot.id);
      result.appliedWeights.push(weight);
    }
    this.exampleMean.add(this.pendingExamples, size);
    if (this.noise !== undefined) this.boundRankContributions();

    for (const index of this.layout.trainableIndices) {
      this.gatherTensor(index);
      this.stepTensor(index);
    }
    for (const index of this.layout.nonTrainableIndices) {
      this.gatherTensor(index);
      this.blendTensor(index, totalWeight);
    }
    this.optimizer.finishStep();
    this.versionCounter++;
    result.newVersion = true;
    this.clearBuffer();
  }

  /**
   * Scales the coefficients of a rank with several updates in the buffer so that the L2 norm
   * of their weighted sum is at most clip.maxNorm. Each update alone is clipped already, so this
   * bounds what one rank adds to the sum, the sensitivity that the noise is calibrated to.
   */
  private boundRankContributions(): void {
    const size = this.config.bufferSize;
    const positionsByRank = new Map<number, number[]>();
    for (let position = 0; position < size; position++) {
      const rank = at(this.slots, at(this.order, position)).rank;
      const positions = positionsByRank.get(rank);
      if (positions === undefined) positionsByRank.set(rank, [position]);
      else positions.push(position);
    }
    const maxNorm = this.config.clip!.maxNorm;
    for (const positions of positionsByRank.values()) {
      if (positions.length < 2) continue;
      const norm = Math.sqrt(this.squaredNormOfSum(positions));
      if (norm <= maxNorm) continue;
      const scale = maxNorm / norm;
      for (const position of positions) {
        this.coefficients[position] = (this.coefficients[position] as number) * scale;
      }
    }
  }

  /** Returns the squared L2 norm of sum over `positions` of coefficient * delta. */
  private squaredNormOfSum(positions: readonly number[]): number {
    let squared = 0;
    for (const index of this.layout.trainableIndices) {
      const length = at(this.current, index).length;
      for (let e = 0; e < length; e++) {
        let value = 0;
        for (const position of positions) {
          const slot = at(this.slots, at(this.order, position));
          value += (this.coefficients[position] as number) * (at(slot.tensors, index)[e] as number);
        }
        squared += value * value;
      }
    }
    return squared;
  }

  /** Fills `orderedTensors` with tensor `index` of each buffered update, in canonical order. */
  private gatherTensor(index: number): void {
    for (let position = 0; position < this.config.bufferSize; position++) {
      const slot = at(this.slots, at(this.order, position));
      this.orderedTensors[position] = at(slot.tensors, index);
    }
  }

  private stepTensor(index: number): void {
    const weights = at(this.current, index);
    const size = this.config.bufferSize;
    const aggregator = this.config.aggregator;
    if (aggregator.kind === 'mean') {
      sumScaled(this.gradient, this.orderedTensors, this.coefficients, size, weights.length);
      if (this.noise !== undefined) {
        // One draw per coordinate of the sum, before the division by K.
        const standardDeviation = this.config.noise!.noiseMultiplier * this.config.clip!.maxNorm;
        this.noise.addTo(this.gradient.subarray(0, weights.length), standardDeviation);
      }
      this.optimizer.step(index, weights, this.gradient, 1 / size);
      return;
    }
    const trimmed = aggregator.kind === 'median' ? -1 : Math.floor(aggregator.beta * size);
    coordinateStatistic(
      this.gradient,
      this.orderedTensors,
      this.coefficients,
      size,
      weights.length,
      trimmed,
      this.columnValues
    );
    this.optimizer.step(index, weights, this.gradient, 1);
  }

  /** w = (1 - beta) w + beta vbar with vbar the weighted mean and beta = clamp(sum w_i / K). */
  private blendTensor(index: number, totalWeight: number): void {
    if (totalWeight <= 0) return;
    const weights = at(this.current, index);
    const size = this.config.bufferSize;
    const target = this.blendTarget;
    sumScaled(target, this.orderedTensors, this.blendWeights, size, weights.length);
    const beta = clampUnit(totalWeight / size);
    const keep = 1 - beta;
    const inverseTotal = 1 / totalWeight;
    for (let e = 0; e < weights.length; e++) {
      weights[e] = keep * (weights[e] as number) + beta * ((target[e] as number) * inverseTotal);
    }
  }

  private clearBuffer(): void {
    for (const slot of this.slots) slot.tensors.fill(EMPTY);
    this.orderedTensors.fill(EMPTY);
    this.count = 0;
    this.pendingExamples = 0;
  }
}

function describeAggregator(aggregator: BufferAggregatorConfig): string {
  switch (aggregator.kind) {
    case 'mean':
      return 'buffer mean';
    case 'median':
      return 'coordinate-wise median';
    case 'trimmedMean':
      return `coordinate-wise trimmed mean beta=${aggregator.beta}`;
  }
}

/**
 * out[e] = sum over p of coefficients[p] * inputs[p][e], added in position order for every
 * element. Four inputs share one pass, which cuts the passes over `out` by four without
 * changing the order of the additions.
 */
export function sumScaled(
  out: Float64Array,
  inputs: readonly Float32Array[],
  coefficients: Float64Array,
  count: number,
  length: number
): void {
  const first = at(inputs, 0);
  const c0 = coefficients[0] as number;
  let position = 1;
  if (count >= 4) {
    const x1 = at(inputs, 1);
    const x2 = at(inputs, 2);
    const x3 = at(inputs, 3);
    const c1 = coefficients[1] as number;
    const c2 = coefficients[2] as number;
    const c3 = coefficients[3] as number;
    for (let e = 0; e < length; e++) {
      let sum = c0 * (first[e] as number);
      sum += c1 * (x1[e] as number);
      sum += c2 * (x2[e] as number);
      sum += c3 * (x3[e] as number);
      out[e] = sum;
    }
    position = 4;
  } else {
    for (let e = 0; e < length; e++) out[e] = c0 * (first[e] as number);
  }
  for (; position + 4 <= count; position += 4) {
    const x0 = at(inputs, position);
    const x1 = at(inputs, position + 1);
    const x2 = at(inputs, position + 2);
    const x3 = at(inputs, position + 3);
    const c0p = coefficients[position] as number;
    const c1 = coefficients[position + 1] as number;
    const c2 = coefficients[position + 2] as number;
    const c3 = coefficients[position + 3] as number;
    for (let e = 0; e < length; e++) {
      let sum = out[e] as number;
      sum += c0p * (x0[e] as number);
      sum += c1 * (x1[e] as number);
      sum += c2 * (x2[e] as number);
      sum += c3 * (x3[e] as number);
      out[e] = sum;
    }
  }
  for (; position < count; position++) {
    const x = at(inputs, position);
    const c = coefficients[position] as number;
    for (let e = 0; e < length; e++) out[e] = (out[e] as number) + c * (x[e] as number);
  }
}

/**
 * out[e] = median (trimmed < 0) or trimmed mean of the values coefficients[p] * inputs[p][e].
 * The trimmed mean drops `trimmed` values from each end of the sorted values.
 */
export function coordinateStatistic(
  out: Float64Array,
  inputs: readonly Float32Array[],
  coefficients: Float64Array,
  count: number,
  length: number,
  trimmed: number,
  column: Float64Array
): void {
  for (let e = 0; e < length; e++) {
    for (let p = 0; p < count; p++) {
      column[p] = (coefficients[p] as number) * (at(inputs, p)[e] as number);
    }
    insertionSort(column, count);
    if (trimmed < 0) {
      out[e] = medianOfSorted(column, count);
      continue;
    }
    let sum = 0;
    for (let p = trimmed; p < count - trimmed; p++) sum += column[p] as number;
    out[e] = sum / (count - 2 * trimmed);
  }
}
