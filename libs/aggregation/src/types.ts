import type { TensorMap } from '@asyncfl/protocol';
import type { RejectReason } from './reasons';
import type { AggregationState } from './state';

/**
 * One worker update. For trainable tensors `tensors` carries the delta w_base - w_local (or the
 * raw gradient under asyncsgd). For non-trainable tensors it carries the worker's local values.
 * A rule may keep references to these arrays until it applies the update, so callers must not
 * modify them before the update's id appears in `SubmitResult.applied`.
 */
export interface UpdateInput {
  /** Unique id. FedBuff sums a buffer in ascending code-unit order of ids. */
  id: string;
  /** Worker rank, a non-negative integer. */
  rank: number;
  /** Global version the worker trained from. */
  baseVersion: number;
  /** Examples the worker trained on, a non-negative integer. */
  numExamples: number;
  tensors: TensorMap;
}

/** Outcome of admission: the staleness of an admitted update, or the reason for rejection. */
export type Admission =
  { ok: true; staleness: number } | { ok: false; reason: RejectReason; detail: string };

/** Outcome of `submit` for an admitted update. */
export interface SubmitResult {
  /** Ids applied into the model by this call, in applied order. Empty while a buffer fills. */
  applied: string[];
  /** Final weight of each applied update, parallel to `applied`. */
  appliedWeights: number[];
  /** True when the global version advanced. */
  newVersion: boolean;
  /**
   * Weight of this update: alpha * s(d) * example factor under FedAsync, s(d) * example factor
   * under FedBuff and asyncsgd. For a buffered FedBuff update the example factor is provisional,
   * because the flush recomputes it against the running mean that includes the whole buffer.
   */
  weight: number;
  /** Staleness d = version - baseVersion at submission. */
  staleness: number;
}

/** An asynchronous aggregation rule that owns the global model. */
export interface AggregationRule {
  /** Current global version: the number of applied steps since version 0. */
  readonly version: number;
  /** Current global weights by tensor name. A live view that later steps modify in place. */
  readonly weights: TensorMap;
  /** Names the rule, its form and its parameters. */
  describe(): string;
  /** Checks an update without changing any state. */
  admit(update: UpdateInput): Admission;
  /**
   * Admits an update, then applies it or adds it to the buffer. Throws UpdateRejectedError,
   * leaving every state unchanged, when admission rejects it.
   */
  submit(update: UpdateInput): SubmitResult;
  /** Ids buffered and not yet applied, in arrival order. */
  pending(): string[];
  /**
   * Returns a copy of the state needed to continue after a restart, weights included. Buffered
   * updates are not part of the state: resubmit them after `importState`.
   */
  exportState(): AggregationState;
  /**
   * Replaces the whole state, weights included, with one exported by a rule of the same
   * config and model spec. Drops buffered updates. Throws InvalidStateError on a mismatch.
   */
  importState(state: AggregationState): void;
}
