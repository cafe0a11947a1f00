// Protobuf encoding of update and chunk envelopes, and of snapshots, in one pass. The sizes of every nested message
// are computed first, so each byte is written once, straight into the message or into the chunk
// that carries it. protobufjs 8 instead grows its buffer by doubling and shifts a nested
// message's bytes forward whenever a length prefix needs more than one byte. A 4 MB update went
// through about six copies that way (the write, the doublings, a shift each for the tensor, the
// update and the envelope, and the final copy) before its chunks copied it again.
//
// The output is byte for byte what the generated protobufjs code writes for the same message:
// fields in number order, proto3 defaults left out. Tests compare the two. Unlike protobufjs,
// the writer rejects what would not arrive as sent: strings with a lone UTF-16 surrogate, which
// protobufjs writes as bytes that are not UTF-8, and uint32 values outside [0, 2^32 - 1], which
// protobufjs wraps.
import type { asyncfl } from './generated/asyncfl.js';
import { ChunkError, InvalidFieldError } from './errors';

const textEncoder = new TextEncoder();

/** Tags (field number and wire type) of the envelope and chunk fields. */
const TAG = {
  envelopeUpdate: (1 << 3) | 2,
  envelopeChunk: (2 << 3) | 2,
  chunkUpdateId: (1 << 3) | 2,
  chunkIndex: 2 << 3,
  chunkCount: 3 << 3,
  chunkData: (4 << 3) | 2,
  chunkTotalBytes: 5 << 3,
} as const;

/** Returns the number of bytes of `value`, an integer in [0, 2^53), written as a varint. */
function varintSize(value: number): number {
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size += 1;
  }
  return size;
}

/** Bytes of a length-delimited field: tag, length prefix and payload. */
function delimitedSize(length: number): number {
  return 1 + varintSize(length) + length;
}

/**
 * Sequential writer over a list of regions, which may belong to different buffers. A write that
 * reaches the end of one region continues at the start of the next.
 */
class RegionWriter {
  private index = 0;
  private offset = 0;
  private readonly scratch = new DataView(new ArrayBuffer(8));
  private readonly scratchBytes = new Uint8Array(this.scratch.buffer);

  constructor(private readonly regions: readonly Uint8Array[]) {}

  /** Returns the region being written, moving past regions that are full. */
  private current(): Uint8Array {
    let region = this.regions[this.index];
    while (region !== undefined && this.offset === region.length) {
      this.index += 1;
      this.offset = 0;
      region = this.regions[this.index];
    }
    if (region === undefined)
      throw new RangeError(
        'message is larger than its computed size; were its arrays resized after it was prepared?'
      );
    return region;
  }

  byte(value: number): void {
    this.current()[this.offset++] = value;
  }

  varint(value: number): void {
    while (value >= 128) {
      this.byte((value % 128) | 128);
      value = Math.floor(value / 128);
    }
    this.byte(value);
  }

  bytes(data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const region = this.current();
      const count = Math.min(region.length - this.offset, data.length - done);
      region.set(data.subarray(done, done + count), this.offset);
      this.offset += count;
      done += count;
    }
  }

  float32(value: number): void {
    this.scratch.setFloat32(0, value, true);
    this.bytes(this.scratchBytes.subarray(0, 4));
  }

  float64(value: number): void {
    this.scratch.setFloat64(0, value, true);
    this.bytes(this.scratchBytes);
  }

  /** Throws unless every region was filled exactly. */
  finish(): void {
    while (this.index < this.regions.length && this.offset === this.regions[this.index]!.length) {
      this.index += 1;
      this.offset = 0;
    }
    if (this.index < this.regions.length) {
      throw new RangeError(
        'message is smaller than its computed size; were its arrays detached after it was prepared?'
      );
    }
  }
}

/** Writes `value` as a varint at `position` of `target` and returns the position after it. */
function putVarint(target: Uint8Array, position: number, value: number): number {
  while (value >= 128) {
    target[position++] = (value % 128) | 128;
    value = Math.floor(value / 128);
  }
  target[position++] = value;
  return position;
}

/** Matches a surrogate outside a pair: with the `u` flag a pair is one code point. */
const LONE_SURROGATE = /\p{Surrogate}/u;

/** Returns the UTF-8 bytes of `value`, which must not contain a lone UTF-16 surrogate. */
function text(value: string | null | undefined, field: string): Uint8Array {
  const string = value ?? '';
  if (LONE_SURROGATE.test(string)) {
    throw new InvalidFieldError(
      field,
      'contains a lone UTF-16 surrogate, which UTF-8 cannot encode'
    );
  }
  return textEncoder.encode(string);
}

function uint32(value: number | null | undefined, field: string): number {
  const number = value ?? 0;
  if (!Number.isInteger(number) || number < 0 || number > 0xffffffff) {
    throw new InvalidFieldError(field, `must be an integer in [0, 2^32 - 1] (got ${number})`);
  }
  // -0 counts as the default and is left out.
  return number === 0 ? 0 : number;
}

function uint64(value: unknown, field: string): number {
  const number = Number(value ?? 0);
  if (!Number.isSafeInteger(number) || number < 0) {
    throw new InvalidFieldError(
      field,
      `must be an integer in [0, 2^53 - 1] (got ${String(value)})`
    );
  }
  return number === 0 ? 0 : number;
}

/** Largest value of the Encoding enum in the schema (ENCODING_TOPK). */
const MAX_ENCODING = 3;

/** A tensor with its strings encoded and its size computed. */
interface WireTensor {
  readonly name: Uint8Array;
  readonly shape: readonly number[];
  readonly shapeBytes: number;
  readonly encoding: number;
  readonly data: Uint8Array;
  readonly scale: number;
  readonly indices: Uint8Array;
  readonly size: number;
}

function prepareTensor(tensor: asyncfl.v1.ITensor): WireTensor {
  const field = `tensor '${tensor.name ?? ''}'`;
  const name = text(tensor.name, 'tensor.name');
  const shape = (tensor.shape ?? []).map((dim) => uint32(Number(dim), `${field} shape`));
  const shapeBytes = shape.reduce((sum, dim) => sum + varintSize(dim), 0);
  const encoding = tensor.encoding ?? 0;
  if (!Number.isInteger(encoding) || encoding < 0 || encoding > MAX_ENCODING) {
    throw new InvalidFieldError(
      `${field} encoding`,
      `must be an Encoding value in [0, ${MAX_ENCODING}] (got ${encoding})`
    );
  }
  const data = tensor.data ?? new Uint8Array(0);
  const scale = tensor.scale ?? 0;
  const indices = tensor.indices ?? new Uint8Array(0);
  let size = 0;
  if (name.length > 0) size += delimitedSize(name.length);
  if (shape.length > 0) size += delimitedSize(shapeBytes);
  if (encoding !== 0) size += 1 + varintSize(encoding);
  if (data.length > 0) size += delimitedSize(data.length);
  if (!Object.is(scale, 0)) size += 5;
  if (indices.length > 0) size += delimitedSize(indices.length);
  return { name, shape, shapeBytes, encoding, data, scale, indices, size };
}

function writeTensor(out: RegionWriter, tensor: WireTensor): void {
  if (tensor.name.length > 0) {
    out.byte((1 << 3) | 2);
    out.varint(tensor.name.length);
    out.bytes(tensor.name);
  }
  if (tensor.shape.length > 0) {
    out.byte((2 << 3) | 2);
    out.varint(tensor.shapeBytes);
    for (const dim of tensor.shape) out.varint(dim);
  }
  if (tensor.encoding !== 0) {
    out.byte(3 << 3);
    out.varint(tensor.encoding);
  }
  if (tensor.data.length > 0) {
    out.byte((4 << 3) | 2);
    out.varint(tensor.data.length);
    out.bytes(tensor.data);
  }
  if (!Object.is(tensor.scale, 0)) {
    out.byte((5 << 3) | 5);
    out.float32(tensor.scale);
  }
  if (tensor.indices.length > 0) {
    out.byte((6 << 3) | 2);
    out.varint(tensor.indices.length);
    out.bytes(tensor.indices);
  }
}

/** A scalar field of a message as it goes on the wire; lists of them are in field-number order. */
type ScalarField =
  | { readonly field: number; readonly kind: 'varint'; readonly value: number }
  | { readonly field: number; readonly kind: 'bytes'; readonly value: Uint8Array }
  | { readonly field: number; readonly kind: 'float32' | 'float64'; readonly value: number };

function scalarSize(scalar: ScalarField): number {
  switch (scalar.kind) {
    case 'varint':
      return 1 + varintSize(scalar.value);
    case 'bytes':
      return delimitedSize(scalar.value.length);
    case 'float32':
      return 5;
    case 'float64':
      return 9;
  }
}

function isDefault(scalar: ScalarField): boolean {
  if (scalar.kind === 'bytes') return scalar.value.length === 0;
  return Object.is(scalar.value, 0);
}

function writeScalar(out: RegionWriter, scalar: ScalarField): void {
  switch (scalar.kind) {
    case 'varint':
      out.byte(scalar.field << 3);
      out.varint(scalar.value);
      return;
    case 'bytes':
      out.byte((scalar.field << 3) | 2);
      out.varint(scalar.value.length);
      out.bytes(scalar.value);
      return;
    case 'float32':
      out.byte((scalar.field << 3) | 5);
      out.float32(scalar.value);
      return;
    case 'float64':
      out.byte((scalar.field << 3) | 1);
      out.float64(scalar.value);
      return;
  }
}

/** Number of the first field written after the tensors (architecture_hash). */
const FIELD_AFTER_TENSORS = 13;
const TENSORS_TAG = (12 << 3) | 2;

/**
 * An update envelope whose size is known and whose bytes are written on request, either as one
 * message or directly into the chunks that carry it. The float32 tensors are views of the
 * caller's arrays, read at the first write. Later requests return the same bytes, so a retried
 * publish resends exactly what the first attempt sent, whose chunks the server may already
 * hold under the same ids.
 */
export class PreparedUpdate {
  /** Size of the whole envelope in bytes. */
  readonly byteLength: number;
  private readonly updateSize: number;
  private bytes: Uint8Array | undefined;
  private chunks:
    | { readonly key: string; readonly chunks: Uint8Array[]; readonly regions: Uint8Array[] }
    | undefined;

  constructor(
    private readonly scalars: readonly ScalarField[],
    private readonly tensors: readonly WireTensor[]
  ) {
    let size = 0;
    for (const scalar of scalars) if (!isDefault(scalar)) size += scalarSize(scalar);
    for (const tensor of tensors) size += delimitedSize(tensor.size);
    this.updateSize = size;
    this.byteLength = delimitedSize(size);
  }

  private write(out: RegionWriter): void {
    out.byte(TAG.envelopeUpdate);
    out.varint(this.updateSize);
    for (const scalar of this.scalars) {
      if (scalar.field >= FIELD_AFTER_TENSORS) break;
      if (!isDefault(scalar)) writeScalar(out, scalar);
    }
    for (const tensor of this.tensors) {
      out.byte(TENSORS_TAG);
      out.varint(tensor.size);
      writeTensor(out, tensor);
    }
    for (const scalar of this.scalars) {
      if (scalar.field >= FIELD_AFTER_TENSORS && !isDefault(scalar)) writeScalar(out, scalar);
    }
    out.finish();
  }

  /** Returns the bytes written by an earlier call, if any, as one envelope. */
  private written(): Uint8Array | undefined {
    if (this.bytes === undefined && this.chunks !== undefined) {
      const bytes = new Uint8Array(this.byteLength);
      let offset = 0;
      for (const region of this.chunks.regions) {
        bytes.set(region, offset);
        offset += region.length;
      }
      this.bytes = bytes;
    }
    return this.bytes;
  }

  /** Returns the envelope as one message. */
  toBytes(): Uint8Array {
    const written = this.written();
    if (written !== undefined) return written;
    const bytes = new Uint8Array(this.byteLength);
    this.write(new RegionWriter([bytes]));
    this.bytes = bytes;
    return bytes;
  }

  /**
   * Returns the envelope split into chunk envelopes of at most `chunkDataBytes` data bytes each,
   * the same messages that `splitIntoChunks` makes from `toBytes()`.
   */
  toChunks(updateId: string, chunkDataBytes: number): Uint8Array[] {
    const key = `${chunkDataBytes} ${updateId}`;
    if (this.chunks?.key === key) return this.chunks.chunks;
    const written = this.written();
    const { chunks, regions } = allocateChunks(updateId, this.byteLength, chunkDataBytes);
    if (written === undefined) this.write(new RegionWriter(regions));
    else copyIntoRegions(written, regions);
    this.chunks = { key, chunks, regions };
    return chunks;
  }
}

/** Builds the wire form of an update from its protobufjs-shaped message. */
export function prepareUpdateMessage(update: asyncfl.v1.IUpdate): PreparedUpdate {
  const scalars: ScalarField[] = [
    { field: 1, kind: 'varint', value: uint32(update.schemaVersion, 'schemaVersion') },
    { field: 2, kind: 'bytes', value: text(update.job, 'job') },
    { field: 3, kind: 'varint', value: uint32(update.rank, 'rank') },
    { field: 4, kind: 'bytes', value: text(update.workerId, 'workerId') },
    { field: 5, kind: 'bytes', value: text(update.incarnation, 'incarnation') },
    { field: 6, kind: 'varint', value: uint64(update.seq, 'seq') },
    { field: 7, kind: 'varint', value: uint64(update.baseVersion, 'baseVersion') },
    { field: 8, kind: 'varint', value: uint64(update.numExamples, 'numExamples') },
    { field: 9, kind: 'varint', value: uint32(update.localSteps, 'localSteps') },
    { field: 10, kind: 'float32', value: update.localLr ?? 0 },
    { field: 11, kind: 'float32', value: update.trainLoss ?? 0 },
    { field: 13, kind: 'bytes', value: text(update.architectureHash, 'architectureHash') },
    { field: 14, kind: 'float64', value: update.dpEpsilon ?? 0 },
    { field: 15, kind: 'float64', value: update.dpDelta ?? 0 },
  ];
  return new PreparedUpdate(scalars, (update.tensors ?? []).map(prepareTensor));
}

/** Tags of the snapshot's repeated and map fields. */
const SNAPSHOT_TAG = {
  weights: (4 << 3) | 2,
  stateTensors: (5 << 3) | 2,
  stateScalars: (6 << 3) | 2,
  mapKey: (1 << 3) | 2,
  mapDoubleValue: (2 << 3) | 1,
} as const;

/**
 * Encodes a snapshot in one pass, like `prepareUpdateMessage(...).toBytes()` does an update.
 * Each state scalar is a map entry, written with its key and value even when they are empty or
 * zero, as protobufjs writes them.
 */
export function encodeSnapshotMessage(snapshot: asyncfl.v1.ISnapshot): Uint8Array {
  const head: ScalarField[] = [
    { field: 1, kind: 'varint', value: uint32(snapshot.schemaVersion, 'schemaVersion') },
    { field: 2, kind: 'bytes', value: text(snapshot.job, 'job') },
    { field: 3, kind: 'varint', value: uint64(snapshot.version, 'version') },
  ];
  const tail: ScalarField = {
    field: 7,
    kind: 'bytes',
    value: text(snapshot.architectureHash, 'architectureHash'),
  };
  const weights = (snapshot.weights ?? []).map(prepareTensor);
  const stateTensors = (snapshot.stateTensors ?? []).map(prepareTensor);
  const scalars = Object.entries(snapshot.stateScalars ?? {}).map(([key, value]) => {
    const keyBytes = text(key, 'stateScalars key');
    return { key: keyBytes, value, size: delimitedSize(keyBytes.length) + 9 };
  });

  let size = 0;
  for (const scalar of [...head, tail]) if (!isDefault(scalar)) size += scalarSize(scalar);
  for (const tensor of [...weights, ...stateTensors]) size += delimitedSize(tensor.size);
  for (const entry of scalars) size += delimitedSize(entry.size);

  const bytes = new Uint8Array(size);
  const out = new RegionWriter([bytes]);
  for (const scalar of head) if (!isDefault(scalar)) writeScalar(out, scalar);
  for (const [tag, tensors] of [
    [SNAPSHOT_TAG.weights, weights],
    [SNAPSHOT_TAG.stateTensors, stateTensors],
  ] as const) {
    for (const tensor of tensors) {
      out.byte(tag);
      out.varint(tensor.size);
      writeTensor(out, tensor);
    }
  }
  for (const entry of scalars) {
    out.byte(SNAPSHOT_TAG.stateScalars);
    out.varint(entry.size);
    out.byte(SNAPSHOT_TAG.mapKey);
    out.varint(entry.key.length);
    out.bytes(entry.key);
    out.byte(SNAPSHOT_TAG.mapDoubleValue);
    out.float64(entry.value);
  }
  if (!isDefault(tail)) writeScalar(out, tail);
  out.finish();
  return bytes;
}

/** Size of a chunk message without its envelope tag and length. */
function chunkBodySize(
  updateId: Uint8Array,
  index: number,
  count: number,
  dataBytes: number,
  totalBytes: number
): number {
  let size = 0;
  if (updateId.length > 0) size += delimitedSize(updateId.length);
  if (index !== 0) size += 1 + varintSize(index);
  if (count !== 0) size += 1 + varintSize(count);
  if (dataBytes > 0) size += delimitedSize(dataBytes);
  if (totalBytes !== 0) size += 1 + varintSize(totalBytes);
  return size;
}

/**
 * Allocates the chunk envelopes of a `totalBytes` envelope with their fields other than the data
 * written, and returns them with the regions, in order, where the data goes.
 */
export function allocateChunks(
  updateId: string,
  totalBytes: number,
  chunkDataBytes: number
): { chunks: Uint8Array[]; regions: Uint8Array[] } {
  if (!Number.isSafeInteger(chunkDataBytes) || chunkDataBytes < 1) {
    throw new ChunkError(updateId, `chunk size must be an integer >= 1 (got ${chunkDataBytes})`);
  }
  const id = text(updateId, 'updateId');
  const count = Math.ceil(totalBytes / chunkDataBytes);
  const chunks: Uint8Array[] = [];
  const regions: Uint8Array[] = [];
  for (let index = 0; index < count; index++) {
    const dataBytes = Math.min(chunkDataBytes, totalBytes - index * chunkDataBytes);
    const body = chunkBodySize(id, index, count, dataBytes, totalBytes);
    const chunk = new Uint8Array(delimitedSize(body));
    chunk[0] = TAG.envelopeChunk;
    let position = putVarint(chunk, 1, body);
    if (id.length > 0) {
      chunk[position++] = TAG.chunkUpdateId;
      position = putVarint(chunk, position, id.length);
      chunk.set(id, position);
      position += id.length;
    }
    if (index !== 0) {
      chunk[position++] = TAG.chunkIndex;
      position = putVarint(chunk, position, index);
    }
    chunk[position++] = TAG.chunkCount;
    position = putVarint(chunk, position, count);
    chunk[position++] = TAG.chunkData;
    position = putVarint(chunk, position, dataBytes);
    regions.push(chunk.subarray(position, position + dataBytes));
    position += dataBytes;
    chunk[position++] = TAG.chunkTotalBytes;
    position = putVarint(chunk, position, totalBytes);
    if (position !== chunk.length) throw new RangeError('chunk is not its computed size');
    chunks.push(chunk);
  }
  return { chunks, regions };
}

/** Copies `bytes` into `regions`, in order; their lengths add up to that of `bytes`. */
export function copyIntoRegions(bytes: Uint8Array, regions: readonly Uint8Array[]): void {
  let offset = 0;
  for (const region of regions) {
    region.set(bytes.subarray(offset, offset + region.length));
    offset += region.length;
  }
}
