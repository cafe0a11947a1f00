import type { ModelSpec, TensorMap } from '@asyncfl/protocol';
import type { ResolvedCommonOptions } from './config';
import {
  InvalidArgumentError,
  InvalidStateError,
  UpdateRejectedError,
  formatValue,
} from './errors';
import { at, copyInitialWeights, createLayout, viewAsMap, type ModelLayout } from './model';
import type { RejectReason } from './reasons';
import { makeStaleness, type StalenessFunction } from './staleness';
import {
  STATE_FORMAT,
  checkStateHeader,
  copyStateTensor,
  readStateScalar,
  type AggregationState,
} from './state';
import { NormOutlierTracker, RankShareTracker } from './trackers';
import type { Admission, AggregationRule, SubmitResult, UpdateInput } from './types';
import { ExampleCountMean } from './weighting';

/** Facts about an admitted update, computed once by admission and reused to apply it. */
export interface Evaluation {
  staleness: number;
  /** s(d). */
  stalenessWeight: number;
  /** Weight reported in SubmitResult.weight and recorded for the rank share cap. */
  weight: number;
  /** L2 norm over the trainable tensors, or 0 when no clip or outlier check needs it. */
  norm: number;
  /** Update tensors by spec index. A scratch array that the next admission overwrites. */
  tensors: Float32Array[];
}

/** Reason and detail of a rejected update. */
export interface Rejection {
  readonly reason: RejectReason;
  readonly detail: string;
}

/** Work to apply once every part of an imported state has been checked. */
export type StateCommit = () => void;

const MISSING = new Float32Array(0);
const UNROLL = 4;

/**
 * Admission, bookkeeping and state export shared by the rule kinds. Subclasses add the
 * update formula, their own admission checks and their own state.
 */
export abstract class RuleBase implements AggregationRule {
  protected readonly layout: ModelLayout;
  /** Global weights by spec index, the same arrays as `weights`. */
  protected readonly current: Float32Array[];
  readonly weights: TensorMap;
  protected versionCounter: number;
  protected readonly stalenessOf: StalenessFunction;
  protected readonly exampleMean = new ExampleCountMean();
  private readonly rankShare: RankShareTracker | undefined;
  private readonly normOutlier: NormOutlierTracker | undefined;
  private readonly scratchTensors: Float32Array[];

  protected constructor(
    protected readonly common: ResolvedCommonOptions,
    private readonly ruleCode: number,
    private readonly ruleName: string,
    spec: ModelSpec,
    initial: TensorMap,
    startVersion: number,
    maxBuffered: number
  ) {
    if (!Number.isSafeInteger(startVersion) || startVersion < 0) {
      throw new InvalidArgumentError('startVersion', startVersion, 'a non-negative integer');
    }
    this.layout = createLayout(spec);
    this.current = copyInitialWeights(this.layout, initial);
    this.weights = viewAsMap(this.layout, this.current);
    this.versionCounter = startVersion;
    this.stalenessOf = makeStaleness(common.staleness);
    this.scratchTensors = this.layout.names.map(() => MISSING);
    if (common.rankShare !== undefined) {
      const { maxShare, window } = common.rankShare;
      this.rankShare = new RankShareTracker(maxShare, window, maxBuffered);
    }
    if (common.normOutlier !== undefined) {
      const { maxRatio, window, minSamples } = common.normOutlier;
      this.normOutlier = new NormOutlierTracker(maxRatio, window, minSamples, maxBuffered);
    }
  }

  get version(): number {
    return this.versionCounter;
  }

  abstract describe(): string;

  /** Runs the rule's own checks after the version checks and before the tensor checks. */
  protected abstract checkRuleSpecific(update: UpdateInput, staleness: number): Rejection | null;

  /** Returns the weight an admitted update would get, from its staleness weight s(d). */
  protected abstract weighUpdate(update: UpdateInput, stalenessWeight: number): number;

  /** Applies or buffers an admitted update. */
  protected abstract accept(update: UpdateInput, evaluation: Evaluation): SubmitResult;

  abstract pending(): string[];

  /** Adds the rule's own tensors and scalars to an exported state. */
  protected abstract exportRuleState(tensors: TensorMap, scalars: Record<string, number>): void;

  /**
   * Checks the rule's own part of a state and returns the work that installs it. Adds every
   * tensor key it reads to `expectedKeys`.
   */
  protected abstract importRuleState(
    state: AggregationState,
    expectedKeys: Set<string>
  ): StateCommit[];

  admit(update: UpdateInput): Admission {
    const result = this.evaluate(update);
    if (isRejection(result)) return { ok: false, reason: result.reason, detail: result.detail };
    return { ok: true, staleness: result.staleness };
  }

  submit(update: UpdateInput): SubmitResult {
    const result = this.evaluate(update);
    if (isRejection(result)) {
      throw new UpdateRejectedError(idOf(update), result.reason, result.detail);
    }
    const outcome = this.accept(update, result);
    this.rankShare?.record(update.rank, result.weight);
    this.normOutlier?.record(result.norm);
    return outcome;
  }

  exportState(): AggregationState {
    const tensors: TensorMap = new Map();
    const scalars: Record<string, number> = { format: STATE_FORMAT, rule: this.ruleCode };
    this.layout.names.forEach((name, index) => {
      tensors.set(`weights/${name}`, Float32Array.from(at(this.current, index)));
    });
    scalars['exampleMean.totalExamples'] = this.exampleMean.totalExamples;
    scalars['exampleMean.updates'] = this.exampleMean.updates;
    // Buffered updates are left out of the state, so their history entries are left out too.
    const buffered = this.pending().length;
    this.rankShare?.exportTo(scalars, buffered);
    this.normOutlier?.exportTo(scalars, buffered);
    this.exportRuleState(tensors, scalars);
    return { version: this.versionCounter, tensors, scalars };
  }

  importState(state: AggregationState): void {
    checkStateHeader(state, this.ruleCode, this.ruleName);
    const expectedKeys = new Set<string>();
    const commits: StateCommit[] = [];

    // Check every part before installing any, so that a bad state changes nothing.
    const staged = this.layout.names.map((name, index) => {
      const key = `weights/${name}`;
      expectedKeys.add(key);
      const copy = new Float32Array(at(this.layout.sizes, index));
      copyStateTensor(state, key, copy);
      return copy;
    });
    commits.push(() => staged.forEach((values, index) => at(this.current, index).set(values)));

    const totalExamples = readStateScalar(state, 'exampleMean.totalExamples', {
      min: 0,
      integer: true,
    });
    const updates = readStateScalar(state, 'exampleMean.updates', { min: 0, integer: true });
    commits.push(() => {
      this.exampleMean.totalExamples = totalExamples;
      this.exampleMean.updates = updates;
    });
    commits.push(...this.importTrackers(state));
    commits.push(...this.importRuleState(state, expectedKeys));

    for (const key of state.tensors.keys()) {
      if (!expectedKeys.has(key)) {
        throw new InvalidStateError(
          `state tensor '${key}' does not belong to ${this.describe()}`,
          key
        );
      }
    }
    const version = state.version;
    commits.push(() => {
      this.versionCounter = version;
    });
    for (const commit of commits) commit();
  }

  private importTrackers(state: AggregationState): StateCommit[] {
    const commits: StateCommit[] = [];
    if (this.rankShare !== undefined) commits.push(this.rankShare.stageImport(state));
    if (this.normOutlier !== undefined) commits.push(this.normOutlier.stageImport(state));
    return commits;
  }

  /** Describes the options shared by all kinds, for `describe()`. */
  protected describeCommon(stalenessText: string): string {
    const parts = [
      `staleness ${stalenessText}`,
      `maxStaleness=${this.common.maxStaleness}`,
      `${this.common.exampleWeighting} example weighting`,
    ];
    const { clip, rankShare, normOutlier } = this.common;
    if (clip !== undefined) parts.push(`clip maxNorm=${clip.maxNorm}`);
    if (rankShare !== undefined) {
      parts.push(`rank share <= ${rankShare.maxShare} over ${rankShare.window} updates`);
    }
    if (normOutlier !== undefined) {
      parts.push(
        `norm outliers > ${normOutlier.maxRatio}x median of ${normOutlier.window} updates`
      );
    }
    return parts.join(', ');
  }

  /** Returns min(1, maxNorm / norm) under clipping, else 1. */
  protected clipScale(norm: number): number {
    const clip = this.common.clip;
    if (clip === undefined || norm <= clip.maxNorm) return 1;
    return clip.maxNorm / norm;
  }

  private evaluate(update: UpdateInput): Evaluation | Rejection {
    const metadataProblem = this.checkMetadata(update);
    if (metadataProblem !== null) return metadataProblem;

    const version = this.versionCounter;
    if (update.baseVersion > version) {
      return reject(
        'future_base_version',
        `baseVersion ${update.baseVersion} is ahead of the current version ${version}`
      );
    }
    const staleness = version - update.baseVersion;
    if (staleness > this.common.maxStaleness) {
      return reject(
        'too_stale',
        `staleness ${staleness} (version ${version} - baseVersion ${update.baseVersion}) exceeds maxStaleness ${this.common.maxStaleness}`
      );
    }
    const ruleProblem = this.checkRuleSpecific(update, staleness);
    if (ruleProblem !== null) return ruleProblem;

    const tensorsOrRejection = this.resolveTensors(update.tensors);
    if (isRejection(tensorsOrRejection)) return tensorsOrRejection;
    const tensors = tensorsOrRejection;

    const normOrRejection = this.measure(tensors);
    if (typeof normOrRejection !== 'number') return normOrRejection;
    const norm = normOrRejection;

    const outlierDetail = this.normOutlier?.check(norm);
    if (outlierDetail !== undefined) return reject('norm_outlier', outlierDetail);

    const stalenessWeight = this.stalenessOf(staleness);
    const weight = this.weighUpdate(update, stalenessWeight);
    const shareDetail = this.rankShare?.check(update.rank, weight);
    if (shareDetail !== undefined) return reject('rank_share_exceeded', shareDetail);

    return { staleness, stalenessWeight, weight, norm, tensors };
  }

  private checkMetadata(update: UpdateInput): Rejection | null {
    if (typeof update !== 'object' || update === null) {
      return reject('malformed_update', `update must be an object (got ${formatValue(update)})`);
    }
    if (typeof update.id !== 'string' || update.id === '') {
      return reject(
        'malformed_update',
        `id must be a non-empty string (got ${formatValue(update.id)})`
      );
    }
    const integerFields = ['rank', 'baseVersion', 'numExamples'] as const;
    for (const field of integerFields) {
      const value = update[field];
      if (!Number.isSafeInteger(value) || value < 0) {
        return reject(
          'malformed_update',
          `${field} must be a non-negative integer (got ${formatValue(value)})`
        );
      }
    }
    const weighting = this.common.exampleWeighting;
    if (weighting !== 'equal' && update.numExamples === 0) {
      return reject(
        'malformed_update',
        `numExamples must be > 0 under '${weighting}' example weighting (got 0), because the update would carry no weight`
      );
    }
    if (!(update.tensors instanceof Map)) {
      return reject(
        'malformed_update',
        `tensors must be a Map (got ${formatValue(update.tensors)})`
      );
    }
    return null;
  }

  private resolveTensors(tensorMap: TensorMap): Float32Array[] | Rejection {
    const { indexByName, sizes, shapes, names } = this.layout;
    const tensors = this.scratchTensors;
    tensors.fill(MISSING);
    for (const [name, values] of tensorMap) {
      const index = indexByName.get(name);
      if (index === undefined) {
        return reject('unknown_tensor', `tensor ${formatValue(name)} is not in the model spec`);
      }
      if (!(values instanceof Float32Array)) {
        return reject(
          'malformed_update',
          `tensor '${name}' must be a Float32Array (got ${formatValue(values)})`
        );
      }
      const size = at(sizes, index);
      if (values.length !== size) {
        return reject(
          'wrong_shape',
          `tensor '${name}' has ${values.length} elements, expected ${size} (shape [${at(shapes, index).join(', ')}])`
        );
      }
      tensors[index] = values;
    }
    for (let index = 0; index < tensors.length; index++) {
      if (tensors[index] === MISSING) {
        return reject('missing_tensor', `tensor '${at(names, index)}' is missing`);
      }
    }
    return tensors;
  }

  /**
   * Returns the L2 norm of the trainable tensors, or a rejection if any value is not finite.
   * Returns 0 without computing the norm when neither clipping nor the outlier check uses it.
   */
  private measure(tensors: Float32Array[]): number | Rejection {
    const { trainable, names } = this.layout;
    const needsNorm = this.common.clip !== undefined || this.normOutlier !== undefined;
    let trainableSquares = 0;
    for (let index = 0; index < tensors.length; index++) {
      const values = at(tensors, index);
      const isTrainable = at(trainable, index);
      const computeNorm = needsNorm && isTrainable;
      // A finite float32 value is below 2^128 and its square below 2^256, so over fewer than 2^32
      // elements only NaN or infinity can make either double-precision sum non-finite.
      const sum = computeNorm ? sumOfSquares(values) : sumOfValues(values);
      if (!Number.isFinite(sum)) {
        const position = values.findIndex((value) => !Number.isFinite(value));
        return reject(
          'non_finite',
          `tensor '${at(names, index)}' has ${values[position]} at element ${position}`
        );
      }
      if (computeNorm) trainableSquares += sum;
    }
    return Math.sqrt(trainableSquares);
  }
}

/** Sums squares with independent partial sums, which shortens the add dependency chain. */
function sumOfSquares(values: Float32Array): number {
  const length = values.length;
  const unrolledEnd = length - (length % UNROLL);
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let i = 0; i < unrolledEnd; i += UNROLL) {
    const x0 = values[i] as number;
    const x1 = values[i + 1] as number;
    const x2 = values[i + 2] as number;
    const x3 = values[i + 3] as number;
    s0 += x0 * x0;
    s1 += x1 * x1;
    s2 += x2 * x2;
    s3 += x3 * x3;
  }
  for (let i = unrolledEnd; i < length; i++) {
    const x = values[i] as number;
    s0 += x * x;
  }
  return s0 + s1 + (s2 + s3);
}

/** Sums values with independent partial sums. Used only to detect NaN and infinity. */
function sumOfValues(values: Float32Array): number {
  const length = values.length;
  const unrolledEnd = length - (length % UNROLL);
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let i = 0; i < unrolledEnd; i += UNROLL) {
    s0 += values[i] as number;
    s1 += values[i + 1] as number;
    s2 += values[i + 2] as number;
    s3 += values[i + 3] as number;
  }
  for (let i = unrolledEnd; i < length; i++) s0 += values[i] as number;
  return s0 + s1 + (s2 + s3);
}

/** Builds a rejection. */
export function reject(reason: RejectReason, detail: string): Rejection {
  return { reason, detail };
}

function isRejection(value: object): value is Rejection {
  return 'reason' in value;
}

function idOf(update: UpdateInput): string {
  return typeof update === 'object' && update !== null && typeof update.id === 'string'
    ? update.id
    : String(update?.id);
}
