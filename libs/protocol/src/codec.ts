import { asyncfl } from './generated/asyncfl.js';
import { ProtocolDecodeError, InvalidFieldError, UnsafeIntegerError } from './errors';
import { float16BitsToFloat32, float32ToFloat16Bits } from './float16';
import { SCHEMA_VERSION } from './schema';
import { shapeSize } from './tensors';
import { encodeSnapshotMessage, prepareUpdateMessage, type PreparedUpdate } from './wire-writer';

const pb = asyncfl.v1;

/** Wire encoding of a tensor's values: `float32` is exact, and the others trade precision for bytes. */
export type TensorEncoding = 'float32' | 'float16' | 'int8' | 'topk';

const ENCODING_TO_WIRE: Record<TensorEncoding, asyncfl.v1.Encoding> = {
  float32: pb.Encoding.ENCODING_FLOAT32,
  float16: pb.Encoding.ENCODING_FLOAT16,
  int8: pb.Encoding.ENCODING_INT8,
  topk: pb.Encoding.ENCODING_TOPK,
};

/** A named tensor as carried by updates and snapshots, decoded to float32. */
export interface NamedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/** Options for encoding one tensor. */
export interface TensorEncodeOptions {
  readonly encoding?: TensorEncoding;
  /** Number of largest-magnitude elements kept by `topk`; at least 1. */
  readonly k?: number;
}

/** A decoded update, with every 64-bit field as an exact JavaScript number. */
export interface UpdateMessage {
  readonly schemaVersion: number;
  readonly job: string;
  readonly rank: number;
  readonly workerId: string;
  readonly incarnation: string;
  readonly seq: number;
  /** Global version the worker started from. */
  readonly baseVersion: number;
  readonly numExamples: number;
  readonly localSteps: number;
  readonly localLr: number;
  readonly trainLoss: number;
  readonly architectureHash: string;
  readonly tensors: readonly NamedTensor[];
  /**
   * Example-level privacy that a DP-SGD worker had spent after training this update; absent for
   * workers without differential privacy.
   */
  readonly privacy?: { readonly epsilon: number; readonly delta: number };
}

/** A decoded chunk of an update that was split to fit the server's payload limit. */
export interface ChunkMessage {
  readonly updateId: string;
  readonly index: number;
  readonly count: number;
  readonly totalBytes: number;
  readonly data: Uint8Array;
}

/** Payload of an update subject: a whole update or one chunk of one. */
export type EnvelopeMessage =
  | { readonly kind: 'update'; readonly update: UpdateMessage }
  | { readonly kind: 'chunk'; readonly chunk: ChunkMessage };

/** Weights and server-optimizer state of one global version, as stored in the object store. */
export interface SnapshotMessage {
  readonly schemaVersion: number;
  readonly job: string;
  readonly version: number;
  readonly architectureHash: string;
  readonly weights: readonly NamedTensor[];
  readonly stateTensors: readonly NamedTensor[];
  readonly stateScalars: Readonly<Record<string, number>>;
}

/** Converts a decoded 64-bit field (a number, or a Long when the `long` package is present). */
export function toSafeNumber(value: unknown, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new UnsafeIntegerError(field, String(value));
    return value;
  }
  if (value === null || value === undefined) return 0;
  const long = value as { low: number; high: number; unsigned?: boolean; toString(): string };
  if (typeof long.low !== 'number' || typeof long.high !== 'number') {
    throw new InvalidFieldError(field, `is not an integer (got ${String(value)})`);
  }
  const high = long.unsigned ? long.high >>> 0 : long.high;
  if (high < 0) throw new InvalidFieldError(field, `must be >= 0 (got ${long.toString()})`);
  // 2^53 - 1 has high word 0x1fffff; anything above cannot be represented exactly.
  if (high > 0x1fffff) throw new UnsafeIntegerError(field, long.toString());
  return high * 0x100000000 + (long.low >>> 0);
}

function assertWireInteger(value: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidFieldError(field, `must be an integer in [0, 2^53 - 1] (got ${value})`);
  }
}

/** True when typed arrays store numbers little-endian, so the wire bytes can be copied whole. */
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Returns the little-endian bytes of `values`: a view of the same memory on little-endian hosts. */
function littleEndianFloat32(values: Float32Array): Uint8Array {
  if (HOST_IS_LITTLE_ENDIAN) {
    return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  }
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return bytes;
}

function readFloat32(bytes: Uint8Array, count: number, field: string): Float32Array {
  if (bytes.length !== count * 4) {
    throw new InvalidFieldError(field, `has ${bytes.length} bytes, expected ${count * 4}`);
  }
  // The copy starts a new buffer at offset 0, so it is aligned for a Float32Array whatever the
  // offset of the field in the message. `new Uint8Array(bytes)` copies even when `bytes` is a
  // Node.js Buffer, whose `slice` would return a view.
  if (HOST_IS_LITTLE_ENDIAN) return new Float32Array(new Uint8Array(bytes).buffer);
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/**
 * Returns the value at position `index` of `values` sorted ascending, reordering `values` in
 * place (Hoare's selection, expected linear time).
 */
function selectInPlace(values: Float32Array, index: number): number {
  let left = 0;
  let right = values.length - 1;
  while (right > left) {
    const a = values[left]!;
    const b = values[(left + right) >>> 1]!;
    const c = values[right]!;
    const pivot = Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
    let i = left;
    let j = right;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const swap = values[i]!;
        values[i] = values[j]!;
        values[j] = swap;
        i++;
        j--;
      }
    }
    if (index <= j) right = j;
    else if (index >= i) left = i;
    else return values[index]!;
  }
  return values[left]!;
}

/**
 * Returns the positions of the `k` largest magnitudes in ascending order. Among equal magnitudes
 * the lower positions win, and NaN counts as infinitely large, so a non-finite value is always
 * sent and the receiver rejects the update instead of never seeing it.
 */
function topkPositions(values: Float32Array, k: number): Uint32Array {
  const magnitudes = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const magnitude = Math.abs(values[i]!);
    magnitudes[i] = Number.isNaN(magnitude) ? Number.POSITIVE_INFINITY : magnitude;
  }
  const threshold = selectInPlace(magnitudes.slice(), values.length - k);
  let above = 0;
  for (let i = 0; i < values.length; i++) if (magnitudes[i]! > threshold) above++;
  let tiesLeft = k - above;
  const positions = new Uint32Array(k);
  let taken = 0;
  for (let i = 0; i < values.length && taken < k; i++) {
    const magnitude = magnitudes[i]!;
    if (magnitude > threshold || (magnitude === threshold && tiesLeft-- > 0)) {
      positions[taken++] = i;
    }
  }
  return positions;
}

/**
 * Encodes one tensor for the wire. Under `float32` the returned `data` may share memory with
 * `tensor.values`, so encode it before changing the values.
 */
export function encodeTensor(
  tensor: NamedTensor,
  options: TensorEncodeOptions = {}
): asyncfl.v1.ITensor {
  const encoding = options.encoding ?? 'float32';
  const size = shapeSize(tensor.shape);
  if (size !== tensor.values.length) {
    throw new InvalidFieldError(
      `tensor '${tensor.name}'`,
      `has ${tensor.values.length} values but shape [${tensor.shape.join(',')}] needs ${size}`
    );
  }
  const base = {
    name: tensor.name,
    shape: [...tensor.shape],
    encoding: ENCODING_TO_WIRE[encoding],
  };
  switch (encoding) {
    case 'float32':
      return { ...base, data: littleEndianFloat32(tensor.values) };
    case 'float16': {
      const bytes = new Uint8Array(size * 2);
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < size; i++)
        view.setUint16(i * 2, float32ToFloat16Bits(tensor.values[i]!), true);
      return { ...base, data: bytes };
    }
    case 'int8': {
      let maxAbs = 0;
      for (let i = 0; i < size; i++) maxAbs = Math.max(maxAbs, Math.abs(tensor.values[i]!));
      if (!Number.isFinite(maxAbs)) {
        // A NaN would round to 0 and an infinity would hide the other values, so the tensor goes
        // with a NaN scale: every decoded value is NaN and the receiver rejects the update.
        return { ...base, data: new Uint8Array(size), scale: Number.NaN };
      }
      const scale = maxAbs > 0 ? maxAbs / 127 : 1;
      const bytes = new Int8Array(size);
      for (let i = 0; i < size; i++) bytes[i] = Math.round(tensor.values[i]! / scale);
      return { ...base, data: new Uint8Array(bytes.buffer), scale: Math.fround(scale) };
    }
    case 'topk': {
      const k = Math.min(options.k ?? Math.ceil(size / 100), size);
      if (!Number.isSafeInteger(k) || k < 1) {
        throw new InvalidFieldError('k', `must be an integer >= 1 (got ${options.k})`);
      }
      const kept = topkPositions(tensor.values, k);
      const indices = new Uint8Array(k * 4);
      const indexView = new DataView(indices.buffer);
      const values = new Float32Array(k);
      kept.forEach((position, i) => {
        indexView.setUint32(i * 4, position, true);
        values[i] = tensor.values[position]!;
      });
      return { ...base, data: littleEndianFloat32(values), indices };
    }
  }
}

/** Decodes one wire tensor to float32 values, checking sizes against its shape. */
export function decodeTensor(tensor: asyncfl.v1.ITensor): NamedTensor {
  const name = tensor.name ?? '';
  if (name === '') throw new InvalidFieldError('tensor.name', 'must not be empty');
  const field = `tensor '${name}'`;
  const shape = (tensor.shape ?? []).map((dim) => Number(dim));
  const size = shapeSize(shape);
  if (!Number.isSafeInteger(size) || size > 2 ** 31) {
    throw new InvalidFieldError(field, `shape [${shape.join(',')}] is too large`);
  }
  const data = tensor.data ?? new Uint8Array(0);
  switch (tensor.encoding ?? pb.Encoding.ENCODING_FLOAT32) {
    case pb.Encoding.ENCODING_FLOAT32:
      return { name, shape, values: readFloat32(data, size, field) };
    case pb.Encoding.ENCODING_FLOAT16: {
      if (data.length !== size * 2) {
        throw new InvalidFieldError(field, `has ${data.length} bytes, expected ${size * 2}`);
      }
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      const values = new Float32Array(size);
      for (let i = 0; i < size; i++) values[i] = float16BitsToFloat32(view.getUint16(i * 2, true));
      return { name, shape, values };
    }
    case pb.Encoding.ENCODING_INT8: {
      if (data.length !== size) {
        throw new InvalidFieldError(field, `has ${data.length} bytes, expected ${size}`);
      }
      const scale = tensor.scale ?? 0;
      const signed = new Int8Array(data.buffer, data.byteOffset, data.byteLength);
      const values = new Float32Array(size);
      for (let i = 0; i < size; i++) values[i] = signed[i]! * scale;
      return { name, shape, values };
    }
    case pb.Encoding.ENCODING_TOPK: {
      const indices = tensor.indices ?? new Uint8Array(0);
      const k = indices.length / 4;
      if (!Number.isInteger(k) || data.length !== indices.length) {
        throw new InvalidFieldError(
          field,
          `top-k needs equal counts of values and indices (got ${data.length} and ${indices.length} bytes)`
        );
      }
      const kept = readFloat32(data, k, field);
      const view = new DataView(indices.buffer, indices.byteOffset, indices.byteLength);
      const values = new Float32Array(size);
      for (let i = 0; i < k; i++) {
        const position = view.getUint32(i * 4, true);
        if (position >= size) {
          throw new InvalidFieldError(field, `top-k index ${position} is outside [0, ${size})`);
        }
        values[position] = kept[i]!;
      }
      return { name, shape, values };
    }
    default:
      throw new InvalidFieldError(field, `has unknown encoding ${String(tensor.encoding)}`);
  }
}

/** Fields of an update that the worker fills in; the schema version is added on encoding. */
export type UpdateFields = Omit<UpdateMessage, 'schemaVersion'>;

/**
 * Prepares an update for the wire: encodes its tensors with `options` (applied to every tensor,
 * or a function returning the options of each tensor) and computes its size. The bytes are
 * written by `toBytes()` or, for an update above the payload limit, by `toChunks()`. Under
 * `float32` the prepared update reads the caller's arrays at its first write, so keep their
 * values until then.
 */
export function prepareUpdate(
  update: UpdateFields,
  options: TensorEncodeOptions | ((tensor: NamedTensor) => TensorEncodeOptions) = {}
): PreparedUpdate {
  const optionsOf = typeof options === 'function' ? options : () => options;
  for (const [field, value] of [
    ['seq', update.seq],
    ['baseVersion', update.baseVersion],
    ['numExamples', update.numExamples],
  ] as const) {
    assertWireInteger(value, field);
  }
  return prepareUpdateMessage({
    schemaVersion: SCHEMA_VERSION,
    job: update.job,
    rank: update.rank,
    workerId: update.workerId,
    incarnation: update.incarnation,
    seq: update.seq,
    baseVersion: update.baseVersion,
    numExamples: update.numExamples,
    localSteps: update.localSteps,
    localLr: update.localLr,
    trainLoss: update.trainLoss,
    architectureHash: update.architectureHash,
    tensors: update.tensors.map((t) => encodeTensor(t, optionsOf(t))),
    dpEpsilon: update.privacy?.epsilon ?? 0,
    dpDelta: update.privacy?.delta ?? 0,
  });
}

/** Encodes an update as the envelope published on its rank's subject; see `prepareUpdate`. */
export function encodeUpdate(
  update: UpdateFields,
  options: TensorEncodeOptions | ((tensor: NamedTensor) => TensorEncodeOptions) = {}
): Uint8Array {
  return prepareUpdate(update, options).toBytes();
}

/** Encodes one chunk of a split update as an envelope. */
export function encodeChunk(chunk: ChunkMessage): Uint8Array {
  assertWireInteger(chunk.totalBytes, 'totalBytes');
  return pb.Envelope.encode(pb.Envelope.create({ chunk: { ...chunk } })).finish();
}

function checkSchemaVersion(version: number, what: string): void {
  if (version < 1 || version > SCHEMA_VERSION) {
    throw new InvalidFieldError(
      `${what}.schemaVersion`,
      `is ${version}, but this reader understands versions 1 to ${SCHEMA_VERSION}`
    );
  }
}

function decodeUpdate(update: asyncfl.v1.IUpdate): UpdateMessage {
  const schemaVersion = update.schemaVersion ?? 0;
  checkSchemaVersion(schemaVersion, 'update');
  return {
    schemaVersion,
    job: update.job ?? '',
    rank: update.rank ?? 0,
    workerId: update.workerId ?? '',
    incarnation: update.incarnation ?? '',
    seq: toSafeNumber(update.seq, 'update.seq'),
    baseVersion: toSafeNumber(update.baseVersion, 'update.baseVersion'),
    numExamples: toSafeNumber(update.numExamples, 'update.numExamples'),
    localSteps: update.localSteps ?? 0,
    localLr: update.localLr ?? 0,
    trainLoss: update.trainLoss ?? 0,
    architectureHash: update.architectureHash ?? '',
    tensors: (update.tensors ?? []).map(decodeTensor),
    // A delta of 0 marks a worker without differential privacy.
    ...((update.dpDelta ?? 0) > 0
      ? { privacy: { epsilon: update.dpEpsilon ?? 0, delta: update.dpDelta ?? 0 } }
      : {}),
  };
}

function wrapDecode<T>(what: string, bytes: Uint8Array, decode: () => T): T {
  if (bytes.length === 0) throw new ProtocolDecodeError(`${what} is empty (0 bytes)`);
  try {
    return decode();
  } catch (err) {
    if (err instanceof InvalidFieldError || err instanceof UnsafeIntegerError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new ProtocolDecodeError(`${what} of ${bytes.length} bytes is not valid: ${reason}`, {
      cause: err,
    });
  }
}

/**
 * Decodes what an update subject carries. Throws a ProtocolError for anything malformed. An
 * update's tensors never share memory with `bytes`, and a chunk's data does.
 */
export function decodeEnvelope(bytes: Uint8Array): EnvelopeMessage {
  return wrapDecode('update envelope', bytes, () => {
    const envelope = pb.Envelope.decode(bytes);
    if (envelope.update) return { kind: 'update', update: decodeUpdate(envelope.update) };
    if (envelope.chunk) {
      const chunk = envelope.chunk;
      return {
        kind: 'chunk',
        chunk: {
          updateId: chunk.updateId ?? '',
          index: chunk.index ?? 0,
          count: chunk.count ?? 0,
          totalBytes: toSafeNumber(chunk.totalBytes, 'chunk.totalBytes'),
          data: chunk.data ?? new Uint8Array(0),
        },
      };
    }
    throw new Error('the envelope contains neither an update nor a chunk');
  });
}

/** Fields of a snapshot; the schema version is added on encoding. */
export type SnapshotFields = Omit<SnapshotMessage, 'schemaVersion'>;

/** Encodes the weights and optimizer state of one version for the object store. */
export function encodeSnapshot(snapshot: SnapshotFields): Uint8Array {
  assertWireInteger(snapshot.version, 'version');
  return encodeSnapshotMessage({
    schemaVersion: SCHEMA_VERSION,
    job: snapshot.job,
    version: snapshot.version,
    architectureHash: snapshot.architectureHash,
    weights: snapshot.weights.map((t) => encodeTensor(t)),
    stateTensors: snapshot.stateTensors.map((t) => encodeTensor(t)),
    stateScalars: { ...snapshot.stateScalars },
  });
}

/** Decodes a stored snapshot. */
export function decodeSnapshot(bytes: Uint8Array): SnapshotMessage {
  return wrapDecode('snapshot', bytes, () => {
    const snapshot = pb.Snapshot.decode(bytes);
    const schemaVersion = snapshot.schemaVersion ?? 0;
    checkSchemaVersion(schemaVersion, 'snapshot');
    return {
      schemaVersion,
      job: snapshot.job ?? '',
      version: toSafeNumber(snapshot.version, 'snapshot.version'),
      architectureHash: snapshot.architectureHash ?? '',
      weights: (snapshot.weights ?? []).map(decodeTensor),
      stateTensors: (snapshot.stateTensors ?? []).map(decodeTensor),
      stateScalars: { ...(snapshot.stateScalars ?? {}) },
    };
  });
}
