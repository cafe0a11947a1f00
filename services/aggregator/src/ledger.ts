import type { JsMsg } from '@nats-io/jetstream';
import type { RejectedUpdate } from '@asyncfl/protocol';

/**
 * Bookkeeping of every stream message this aggregator has received and not yet acknowledged.
 *
 * A message is `held` while it cannot be settled yet (a chunk of an incomplete set, an update
 * waiting in a FedBuff buffer) and `settled` once its update is applied into the current
 * model or rejected. Settled messages are acknowledged only after a snapshot that covers
 * them is stored, so a crash before that redelivers them to an aggregator that restarts from
 * the previous snapshot.
 */
export class MessageLedger {
  private readonly held = new Map<number, JsMsg>();
  private readonly applied = new Map<number, JsMsg>();
  private readonly rejected = new Map<number, JsMsg>();
  /** Seqs acknowledged after earlier snapshots that may still sit above the ack floor. */
  private readonly acknowledged = new Set<number>();

  appliedIds: string[] = [];
  rejectedUpdates: RejectedUpdate[] = [];

  /** Seeds the ledger with the seqs a loaded manifest covers. */
  constructor(coveredSeqs: readonly number[] = []) {
    for (const seq of coveredSeqs) this.acknowledged.add(seq);
  }

  /** True when the seq was covered by an earlier snapshot and only needs acknowledging again. */
  isCovered(seq: number): boolean {
    return this.acknowledged.has(seq);
  }

  /** True when the seq is already being handled in this run (a redelivery). */
  isKnown(seq: number): boolean {
    return this.held.has(seq) || this.applied.has(seq) || this.rejected.has(seq);
  }

  /** Replaces the handle of a redelivered message, so the newest delivery is acknowledged. */
  refresh(msg: JsMsg): void {
    for (const map of [this.held, this.applied, this.rejected]) {
      if (map.has(msg.seq)) map.set(msg.seq, msg);
    }
  }

  hold(msg: JsMsg): void {
    this.held.set(msg.seq, msg);
  }

  private take(seq: number, fallback?: JsMsg): JsMsg | undefined {
    const msg = this.held.get(seq) ?? fallback;
    this.held.delete(seq);
    return msg;
  }

  /** Marks the messages of an update as applied into the current model. */
  markApplied(id: string, seqs: readonly number[]): void {
    for (const seq of seqs) {
      const msg = this.take(seq);
      if (msg) this.applied.set(seq, msg);
    }
    this.appliedIds.push(id);
  }

  /** Marks the messages of an update, or a broken message, as rejected with a reason. */
  markRejected(rejection: RejectedUpdate, seqs: readonly number[], msg?: JsMsg): void {
    for (const seq of seqs) {
      const handle = this.take(seq, seq === msg?.seq ? msg : undefined);
      if (handle) this.rejected.set(seq, handle);
    }
    this.rejectedUpdates.push(rejection);
  }

  /** Number of settled messages waiting for a snapshot. */
  get settledCount(): number {
    return this.applied.size + this.rejected.size;
  }

  /** True when ids were applied or rejected since the previous snapshot. */
  get hasNews(): boolean {
    return this.appliedIds.length > 0 || this.rejectedUpdates.length > 0;
  }

  /** Seqs a snapshot written now covers: settled ones plus acknowledged ones above the floor. */
  coveredSeqs(ackFloor: number): number[] {
    for (const seq of this.acknowledged) if (seq <= ackFloor) this.acknowledged.delete(seq);
    const seqs = [...this.acknowledged, ...this.applied.keys(), ...this.rejected.keys()];
    return seqs.sort((a, b) => a - b);
  }

  /**
   * Acknowledges every settled message after its snapshot is stored: applied ones with ack,
   * rejected ones with term so they are never redelivered. Resets the per-snapshot lists.
   */
  acknowledgeSettled(): number {
    let count = 0;
    for (const [seq, msg] of this.applied) {
      msg.ack();
      this.acknowledged.add(seq);
      count += 1;
    }
    for (const [seq, msg] of this.rejected) {
      msg.term();
      this.acknowledged.add(seq);
      count += 1;
    }
    this.applied.clear();
    this.rejected.clear();
    this.appliedIds = [];
    this.rejectedUpdates = [];
    return count;
  }

  /** Tells the server that held and settled messages are still in progress. */
  keepAlive(): void {
    for (const map of [this.held, this.applied, this.rejected]) {
      for (const msg of map.values()) msg.working();
    }
  }
}
