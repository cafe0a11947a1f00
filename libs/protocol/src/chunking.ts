import { ChunkError } from './errors';
import type { ChunkMessage } from './codec';
import { allocateChunks, copyIntoRegions } from './wire-writer';

/** Splits an encoded envelope into chunk envelopes holding at most `chunkDataBytes` each. */
export function splitIntoChunks(
  updateId: string,
  envelope: Uint8Array,
  chunkDataBytes: number
): Uint8Array[] {
  const { chunks, regions } = allocateChunks(updateId, envelope.length, chunkDataBytes);
  copyIntoRegions(envelope, regions);
  return chunks;
}

/** Limits that keep a flood of bogus chunks from exhausting the aggregator's memory. */
export interface ReassemblerLimits {
  /** Largest reassembled update accepted, in bytes. */
  readonly maxUpdateBytes: number;
  /** Most incomplete sets held at once. */
  readonly maxOpenSets: number;
}

/** Outcome of adding one chunk. `tags` are the callers' handles of every chunk of the set. */
export type ChunkAddResult<Tag> =
  | { readonly status: 'incomplete' }
  | { readonly status: 'complete'; readonly bytes: Uint8Array; readonly tags: Tag[] }
  | { readonly status: 'invalid'; readonly error: ChunkError; readonly tags: Tag[] };

/** A set that timed out or was evicted before all its chunks arrived. */
export interface AbandonedSet<Tag> {
  readonly updateId: string;
  readonly received: number;
  readonly count: number;
  readonly tags: Tag[];
}

interface OpenSet<Tag> {
  readonly count: number;
  readonly totalBytes: number;
  readonly parts: (Uint8Array | undefined)[];
  received: number;
  readonly tags: Tag[];
  readonly firstSeenMs: number;
}

/**
 * Collects the chunks of split updates until each set is whole. Time is passed in, so the
 * owner decides the clock and when to call `expire`. A chunk seen twice (a redelivery) adds
 * its tag but not its data, so the owner can still acknowledge both deliveries.
 */
export class Reassembler<Tag> {
  private readonly open = new Map<string, OpenSet<Tag>>();
  /** Memory of released bytes, reused by the next set that fits in it. */
  private spare: ArrayBuffer | undefined;
  /** Memory this reassembler allocated, the only memory that `release` takes back. */
  private readonly issued = new WeakSet<ArrayBuffer>();

  constructor(private readonly limits: ReassemblerLimits) {}

  /**
   * Hands back the bytes of a complete set once the caller has decoded them, so that the next
   * set can reuse their memory. Reusing a fresh multi-megabyte buffer per update saves its
   * allocation, page faults and garbage collection. The caller must not read `bytes` afterwards,
   * nor anything that shares memory with them. Bytes that this reassembler did not return are
   * ignored.
   */
  release(bytes: Uint8Array): void {
    const buffer = bytes.buffer;
    if (!(buffer instanceof ArrayBuffer) || !this.issued.has(buffer)) return;
    if (this.spare === undefined || buffer.byteLength > this.spare.byteLength) this.spare = buffer;
  }

  private allocate(size: number): Uint8Array {
    const spare = this.spare;
    if (spare !== undefined && spare.byteLength >= size) {
      this.spare = undefined;
      return new Uint8Array(spare, 0, size);
    }
    const bytes = new Uint8Array(size);
    this.issued.add(bytes.buffer);
    return bytes;
  }

  /** Number of incomplete sets held. */
  get openSets(): number {
    return this.open.size;
  }

  /**
   * Adds a chunk. Throws ChunkError when the chunk contradicts its set or the limits; the set
   * stays open then. Returns `invalid` when a full set does not add up; the set is dropped.
   */
  add(chunk: ChunkMessage, nowMs: number, tag: Tag): ChunkAddResult<Tag> {
    const { updateId, index, count, totalBytes } = chunk;
    if (!Number.isSafeInteger(count) || count < 1) {
      throw new ChunkError(updateId, `chunk count must be >= 1 (got ${count})`);
    }
    if (!Number.isSafeInteger(index) || index >= count) {
      throw new ChunkError(updateId, `chunk index ${index} is outside [0, ${count})`);
    }
    if (totalBytes > this.limits.maxUpdateBytes) {
      throw new ChunkError(
        updateId,
        `claims ${totalBytes} bytes, above the limit of ${this.limits.maxUpdateBytes}`
      );
    }
    let set = this.open.get(updateId);
    if (set === undefined) {
      if (this.open.size >= this.limits.maxOpenSets) {
        throw new ChunkError(
          updateId,
          `${this.open.size} incomplete updates are already held (limit ${this.limits.maxOpenSets})`
        );
      }
      set = {
        count,
        totalBytes,
        parts: new Array(count),
        received: 0,
        tags: [],
        firstSeenMs: nowMs,
      };
      this.open.set(updateId, set);
    } else if (set.count !== count || set.totalBytes !== totalBytes) {
      throw new ChunkError(
        updateId,
        `chunk ${index} claims ${count} chunks of ${totalBytes} bytes, but the set has ${set.count} of ${set.totalBytes}`
      );
    }
    set.tags.push(tag);
    if (set.parts[index] === undefined) {
      set.parts[index] = chunk.data;
      set.received += 1;
    }
    if (set.received < set.count) return { status: 'incomplete' };

    this.open.delete(updateId);
    const bytes = this.allocate(set.totalBytes);
    let offset = 0;
    for (const part of set.parts) {
      if (part === undefined || offset + part.length > bytes.length) {
        const error = new ChunkError(updateId, 'chunk sizes do not add up to the claimed total');
        return { status: 'invalid', error, tags: set.tags };
      }
      bytes.set(part, offset);
      offset += part.length;
    }
    if (offset !== set.totalBytes) {
      const error = new ChunkError(
        updateId,
        `chunks hold ${offset} bytes, not the claimed ${set.totalBytes}`
      );
      return { status: 'invalid', error, tags: set.tags };
    }
    return { status: 'complete', bytes, tags: set.tags };
  }

  /** Removes and returns every set whose first chunk arrived more than `timeoutMs` ago. */
  expire(nowMs: number, timeoutMs: number): AbandonedSet<Tag>[] {
    const expired: AbandonedSet<Tag>[] = [];
    for (const [updateId, set] of this.open) {
      if (nowMs - set.firstSeenMs > timeoutMs) {
        this.open.delete(updateId);
        expired.push({ updateId, received: set.received, count: set.count, tags: set.tags });
      }
    }
    return expired;
  }

  /** Tags of every chunk in the set of `updateId`, if one is open. */
  tagsOf(updateId: string): Tag[] | undefined {
    return this.open.get(updateId)?.tags;
  }
}
