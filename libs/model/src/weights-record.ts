import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import type { ModelSpec, TensorMap } from '@asyncfl/protocol';
import { shapeSize } from '@asyncfl/protocol';
import { ModelLoadError, ShapeMismatchError, WeightMissingError } from './errors';

// File layout, little-endian:
//   MAGIC (8 bytes), uint32 header length, UTF-8 JSON header {tensors: [{name, shape}]}
//   then one record per version: uint32 version, float64 epoch milliseconds, and the float32
//   values of every tensor in header order.
// The float32 values are copied in the machine's byte order, so the recorder and the reader
// reject big-endian machines instead of writing or reading the values byte-swapped.
const MAGIC = Buffer.from('AFLWREC1', 'latin1');
const RECORD_PREFIX_BYTES = 12;

/** One version of the model read back from a weights record. */
export interface RecordedVersion {
  readonly version: number;
  /** Epoch milliseconds at which the version was made. */
  readonly timeMs: number;
  readonly weights: TensorMap;
}

/** Contents of a weights record file. */
export interface WeightsRecordContents {
  readonly tensors: readonly { readonly name: string; readonly shape: readonly number[] }[];
  readonly versions: readonly RecordedVersion[];
  /** Bytes of a last record cut short, for example by a process killed while writing it. */
  readonly truncatedBytes: number;
}

/**
 * Appends model versions with the time each was made to a file, so that a run can be evaluated
 * after it ends instead of spending CPU on evaluations while it trains. Writes are synchronous:
 * a record is in the file once `append` returns.
 */
export class WeightsRecorder {
  private readonly fd: number;
  private readonly tensors: readonly { readonly name: string; readonly size: number }[];
  private readonly record: Buffer;
  private closed = false;

  /**
   * Creates or truncates `path` and writes the header for `spec`.
   *
   * @throws Error from node:fs when the file cannot be opened or written.
   */
  constructor(
    readonly path: string,
    spec: ModelSpec
  ) {
    assertLittleEndian();
    this.tensors = spec.map((t) => ({ name: t.name, size: shapeSize(t.shape) }));
    const valueBytes = this.tensors.reduce((sum, t) => sum + 4 * t.size, 0);
    this.record = Buffer.alloc(RECORD_PREFIX_BYTES + valueBytes);
    const header = Buffer.from(
      JSON.stringify({ tensors: spec.map((t) => ({ name: t.name, shape: [...t.shape] })) }),
      'utf8'
    );
    const length = Buffer.alloc(4);
    length.writeUInt32LE(header.length, 0);
    this.fd = openSync(path, 'w');
    try {
      writeAll(this.fd, Buffer.concat([MAGIC, length, header]));
    } catch (err) {
      closeSync(this.fd);
      throw err;
    }
  }

  /**
   * Appends one version. Every tensor of the spec must be present with its element count.
   *
   * @throws WeightMissingError for a tensor that `weights` lacks.
   * @throws ShapeMismatchError for values whose length differs from the tensor's element count.
   */
  append(version: number, timeMs: number, weights: TensorMap): void {
    if (this.closed) throw new Error(`the weights record '${this.path}' is closed`);
    const record = this.record;
    record.writeUInt32LE(version, 0);
    record.writeDoubleLE(timeMs, 4);
    let offset = RECORD_PREFIX_BYTES;
    for (const { name, size } of this.tensors) {
      const values = weights.get(name);
      if (values === undefined) {
        throw new WeightMissingError(name, this.tensors.length, weights.size);
      }
      if (values.length !== size) throw new ShapeMismatchError(name, [size], values.length);
      const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
      record.set(bytes, offset);
      offset += bytes.byteLength;
    }
    writeAll(this.fd, record);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

function assertLittleEndian(): void {
  if (endianness() !== 'LE') {
    throw new Error('weights records are little-endian, and this machine is big-endian');
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.byteLength) {
    written += writeSync(fd, bytes, written, bytes.byteLength - written);
  }
}

/**
 * Reads every complete version of a file written by `WeightsRecorder`. A last record cut short
 * is left out and its length reported in `truncatedBytes`.
 *
 * @throws ModelLoadError when the file is not a weights record or its header is malformed.
 */
export function readWeightsRecord(path: string): WeightsRecordContents {
  assertLittleEndian();
  const file = readFileSync(path);
  if (file.length < MAGIC.length + 4 || !file.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new ModelLoadError(path, `not a weights record: it does not start with '${MAGIC}'`);
  }

  const headerLength = file.readUInt32LE(MAGIC.length);
  const headerEnd = MAGIC.length + 4 + headerLength;
  if (headerEnd > file.length) {
    throw new ModelLoadError(
      path,
      `the header claims ${headerLength} bytes but only ${file.length - MAGIC.length - 4} follow`
    );
  }

  const tensors = parseHeader(path, file.subarray(MAGIC.length + 4, headerEnd));
  const recordBytes = RECORD_PREFIX_BYTES + tensors.reduce((s, t) => s + 4 * shapeSize(t.shape), 0);

  const versions: RecordedVersion[] = [];
  let offset = headerEnd;
  while (offset + recordBytes <= file.length) {
    const weights: TensorMap = new Map();
    let at = offset + RECORD_PREFIX_BYTES;
    for (const { name, shape } of tensors) {
      const size = shapeSize(shape);
      // Copy into a fresh array, because `at` need not be a multiple of 4 in the file buffer.
      const values = new Float32Array(size);
      new Uint8Array(values.buffer).set(file.subarray(at, at + 4 * size));
      weights.set(name, values);
      at += 4 * size;
    }
    versions.push({
      version: file.readUInt32LE(offset),
      timeMs: file.readDoubleLE(offset + 4),
      weights,
    });
    offset += recordBytes;
  }
  return { tensors, versions, truncatedBytes: file.length - offset };
}

function parseHeader(
  path: string,
  bytes: Buffer
): { readonly name: string; readonly shape: readonly number[] }[] {
  let header: unknown;
  try {
    header = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ModelLoadError(path, 'the header is not valid JSON', { cause: err });
  }
  const tensors = (header as { tensors?: unknown }).tensors;
  const valid =
    Array.isArray(tensors) &&
    tensors.every(
      (t: { name?: unknown; shape?: unknown }) =>
        typeof t?.name === 'string' &&
        Array.isArray(t.shape) &&
        t.shape.every((d: unknown) => Number.isSafeInteger(d) && (d as number) >= 0)
    );
  if (!valid) {
    throw new ModelLoadError(
      path,
      'the header lacks a list of tensors, each with a name and a shape of whole numbers'
    );
  }
  return tensors as { name: string; shape: number[] }[];
}
