import type { KV } from '@nats-io/kv';
import { workerClaimKey } from '@asyncfl/protocol';
import { RankClaimedError } from './errors';

/** What a worker stores at `<job>.<rank>` in the workers bucket. */
export interface RankClaim {
  readonly workerId: string;
  readonly incarnation: string;
  /** Time of the latest heartbeat, in milliseconds since the epoch. */
  readonly heartbeatAt: number;
  readonly host: string;
  readonly pid: number;
}

/** Timing of a rank claim. */
export interface ClaimOptions {
  /** Interval between heartbeats, in milliseconds. */
  readonly heartbeatMs: number;
  /** Age after which a claim without a heartbeat counts as dead and can be taken, in milliseconds. */
  readonly expireMs: number;
  /** Called when a heartbeat write fails, so a service can log it. */
  readonly onHeartbeatError?: (err: Error) => void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function parseClaim(bytes: Uint8Array): RankClaim | undefined {
  try {
    const value = JSON.parse(decoder.decode(bytes)) as RankClaim;
    return typeof value.heartbeatAt === 'number' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** A held rank; keeps its heartbeat going until released. */
export class RankLease {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly kv: KV,
    readonly key: string,
    private readonly claim: Omit<RankClaim, 'heartbeatAt'>,
    private revision: number,
    private readonly options: ClaimOptions
  ) {
    this.timer = setInterval(() => void this.beat(), options.heartbeatMs);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    if (this.stopped) return;
    const value = encoder.encode(JSON.stringify({ ...this.claim, heartbeatAt: Date.now() }));
    try {
      this.revision = await this.kv.update(this.key, value, this.revision);
    } catch (err) {
      // A lost revision (the key was taken over or rewritten) and a disconnect both land here.
      // Re-reading the key decides whether the lease is still ours.
      this.options.onHeartbeatError?.(err instanceof Error ? err : new Error(String(err)));
      try {
        const entry = await this.kv.get(this.key);
        const current = entry ? parseClaim(entry.value) : undefined;
        if (entry && current?.incarnation === this.claim.incarnation)
          this.revision = entry.revision;
      } catch {
        // The next heartbeat tries again.
      }
    }
  }

  /** Stops the heartbeat and deletes the claim if it is still this worker's. */
  async release(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    try {
      const entry = await this.kv.get(this.key);
      const current = entry ? parseClaim(entry.value) : undefined;
      if (entry && current?.incarnation === this.claim.incarnation) {
        await this.kv.delete(this.key, { previousSeq: entry.revision });
      }
    } catch {
      // A claim left behind expires after `expireMs`.
    }
  }
}

/**
 * Claims a rank for this worker. A rank held by a claim whose heartbeat is younger than
 * `expireMs` is refused with RankClaimedError; an expired claim is taken over.
 */
export async function claimRank(
  kv: KV,
  job: string,
  rank: number,
  claim: Omit<RankClaim, 'heartbeatAt'>,
  options: ClaimOptions
): Promise<RankLease> {
  const key = workerClaimKey(job, rank);
  const value = encoder.encode(JSON.stringify({ ...claim, heartbeatAt: Date.now() }));
  for (let attempt = 0; attempt < 5; attempt++) {
    const entry = await kv.get(key);
    const existing = entry && entry.operation === 'PUT' ? parseClaim(entry.value) : undefined;
    try {
      if (!entry || entry.operation !== 'PUT') {
        const revision = entry
          ? await kv.update(key, value, entry.revision)
          : await kv.create(key, value);
        return new RankLease(kv, key, claim, revision, options);
      }
      const ageMs = Date.now() - (existing?.heartbeatAt ?? 0);
      if (existing && ageMs < options.expireMs) {
        throw new RankClaimedError(
          job,
          rank,
          existing.workerId,
          `rank ${rank} of job '${job}' is held by worker '${existing.workerId}' (incarnation ${existing.incarnation}, pid ${existing.pid} on ${existing.host}, heartbeat ${Math.round(ageMs)} ms ago); stop that worker or pick another --rank`
        );
      }
      const revision = await kv.update(key, value, entry.revision);
      return new RankLease(kv, key, claim, revision, options);
    } catch (err) {
      if (err instanceof RankClaimedError) throw err;
      // Another claimant wrote the key between our read and write; read it again.
      if (attempt === 4) throw err;
    }
  }
  throw new Error('unreachable');
}
