import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ProtocolDecodeError,
  InvalidFieldError,
  UnsafeIntegerError,
  decodeEnvelope,
  decodeSnapshot,
  encodeSnapshot,
  encodeUpdate,
  encodeTensor,
  decodeTensor,
  type UpdateFields,
} from './index';
import { asyncfl } from './generated/asyncfl.js';

function randomFloats(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let state = seed >>> 0;
  for (let i = 0; i < n; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = (state / 2 ** 32 - 0.5) * 10;
  }
  return out;
}

function sampleUpdate(overrides: Partial<UpdateFields> = {}): UpdateFields {
  const special = new Float32Array([
    0,
    -0,
    1e-45,
    -3.4028234663852886e38,
    1.5,
    NaN,
    Infinity,
    -Infinity,
  ]);
  return {
    job: 'mnist',
    rank: 3,
    workerId: 'host-a-3',
    incarnation: '0123abcd',
    seq: 7,
    baseVersion: 2 ** 40 + 123,
    numExamples: 2 ** 41 + 1,
    localSteps: 5,
    localLr: 0.05,
    trainLoss: 0.25,
    architectureHash: 'ab'.repeat(32),
    tensors: [
      { name: 'dense1/kernel', shape: [4, 3], values: randomFloats(12, 1) },
      { name: 'dense1/bias', shape: [3], values: randomFloats(3, 2) },
      { name: 'special', shape: [2, 4], values: special },
    ],
    ...overrides,
  };
}

function bits(values: Float32Array): number[] {
  return Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length));
}

test('update round trip keeps every tensor bit for bit', () => {
  const update = sampleUpdate();
  const decoded = decodeEnvelope(encodeUpdate(update));
  assert.equal(decoded.kind, 'update');
  if (decoded.kind !== 'update') return;
  assert.equal(decoded.update.tensors.length, update.tensors.length);
  update.tensors.forEach((tensor, i) => {
    const got = decoded.update.tensors[i]!;
    assert.equal(got.name, tensor.name);
    assert.deepEqual(got.shape, tensor.shape);
    assert.deepEqual(bits(got.values), bits(tensor.values));
  });
});

test('64-bit fields above 2^40 arrive as exact numbers', () => {
  const decoded = decodeEnvelope(encodeUpdate(sampleUpdate({ baseVersion: 2 ** 53 - 1 })));
  assert.equal(decoded.kind, 'update');
  if (decoded.kind !== 'update') return;
  assert.equal(typeof decoded.update.baseVersion, 'number');
  assert.equal(decoded.update.baseVersion, 2 ** 53 - 1);
  assert.equal(decoded.update.numExamples, 2 ** 41 + 1);
  assert.equal(decoded.update.seq, 7);
});

test('scalar fields survive the round trip', () => {
  const update = sampleUpdate();
  const decoded = decodeEnvelope(encodeUpdate(update));
  if (decoded.kind !== 'update') return assert.fail('expected an update');
  const { tensors: _t, ...fields } = decoded.update;
  assert.equal(fields.job, 'mnist');
  assert.equal(fields.rank, 3);
  assert.equal(fields.workerId, 'host-a-3');
  assert.equal(fields.incarnation, '0123abcd');
  assert.equal(fields.localSteps, 5);
  assert.equal(fields.localLr, Math.fround(0.05));
  assert.equal(fields.architectureHash, 'ab'.repeat(32));
  assert.equal(fields.schemaVersion, 1);
});

test('a version above 2^53 - 1 is rejected on decode', () => {
  const bytes = asyncfl.v1.Envelope.encode({
    update: { schemaVersion: 1, job: 'mnist', baseVersion: 2 ** 60 },
  }).finish();
  assert.throws(() => decodeEnvelope(bytes), UnsafeIntegerError);
});

test('a version above 2^53 - 1 is rejected on encode', () => {
  assert.throws(() => encodeUpdate(sampleUpdate({ baseVersion: 2 ** 53 })), InvalidFieldError);
});

test('empty, random and truncated bytes are decode errors', () => {
  assert.throws(() => decodeEnvelope(new Uint8Array(0)), ProtocolDecodeError);
  const random = Uint8Array.from(randomFloats(64, 9), (v) => Math.abs(v * 100) & 0xff);
  assert.throws(
    () => decodeEnvelope(random),
    (err: unknown) => err instanceof Error && 'code' in err
  );
  const whole = encodeUpdate(sampleUpdate());
  assert.throws(() => decodeEnvelope(whole.subarray(0, whole.length - 7)), ProtocolDecodeError);
});

test('a claimed length of 2^31 is a decode error', () => {
  // Field 1 (update), wire type 2, then a varint length of 2^31.
  const bytes = new Uint8Array([0x0a, 0x80, 0x80, 0x80, 0x80, 0x08, 0x01, 0x02]);
  assert.throws(() => decodeEnvelope(bytes), ProtocolDecodeError);
});

test('tensor with data not matching its shape is rejected', () => {
  const wire = encodeTensor({ name: 'w', shape: [3], values: new Float32Array(3) });
  assert.throws(() => decodeTensor({ ...wire, shape: [4] }), InvalidFieldError);
  assert.throws(
    () => encodeTensor({ name: 'w', shape: [2, 2], values: new Float32Array(3) }),
    /shape \[2,2\] needs 4/
  );
});

test('newer schema version is rejected', () => {
  const bytes = asyncfl.v1.Envelope.encode({ update: { schemaVersion: 2, job: 'mnist' } }).finish();
  assert.throws(() => decodeEnvelope(bytes), /understands versions 1 to 1/);
});

test('float16 round trip stays within half precision', () => {
  const values = randomFloats(1000, 4);
  const decoded = decodeTensor(
    encodeTensor({ name: 'w', shape: [1000], values }, { encoding: 'float16' })
  );
  for (let i = 0; i < values.length; i++) {
    const tolerance = Math.abs(values[i]!) * 2 ** -11 + 2 ** -24;
    assert.ok(Math.abs(decoded.values[i]! - values[i]!) <= tolerance, `element ${i}`);
  }
});

test('int8 round trip stays within half a quantization step', () => {
  const values = randomFloats(1000, 5);
  const decoded = decodeTensor(
    encodeTensor({ name: 'w', shape: [1000], values }, { encoding: 'int8' })
  );
  const maxAbs = Math.max(...Array.from(values, Math.abs));
  const step = maxAbs / 127;
  for (let i = 0; i < values.length; i++) {
    assert.ok(Math.abs(decoded.values[i]! - values[i]!) <= step / 2 + 1e-6, `element ${i}`);
  }
});

test('top-k keeps the k largest magnitudes exactly and zeroes the rest', () => {
  const values = new Float32Array([0.1, -5, 0.2, 3, -0.05, 4]);
  const decoded = decodeTensor(
    encodeTensor({ name: 'w', shape: [6], values }, { encoding: 'topk', k: 3 })
  );
  assert.deepEqual(Array.from(decoded.values), [0, -5, 0, 3, 0, 4]);
});

test('snapshot round trip keeps weights, state and version', () => {
  const snapshot = {
    job: 'mnist',
    version: 2 ** 45 + 3,
    architectureHash: 'cd'.repeat(32),
    weights: [{ name: 'dense1/bias', shape: [3], values: randomFloats(3, 7) }],
    stateTensors: [{ name: 'adam/m/dense1/bias', shape: [3], values: randomFloats(3, 8) }],
    stateScalars: { step: 12, runningMeanExamples: 31.5 },
  };
  const decoded = decodeSnapshot(encodeSnapshot(snapshot));
  assert.equal(decoded.version, snapshot.version);
  assert.equal(decoded.architectureHash, snapshot.architectureHash);
  assert.deepEqual(bits(decoded.weights[0]!.values), bits(snapshot.weights[0]!.values));
  assert.deepEqual(bits(decoded.stateTensors[0]!.values), bits(snapshot.stateTensors[0]!.values));
  assert.deepEqual(decoded.stateScalars, snapshot.stateScalars);
});

/** Returns the top-k positions by sorting, the slow reference for the selection in the codec. */
function referenceTopk(values: Float32Array, k: number): number[] {
  const magnitude = (i: number) => {
    const m = Math.abs(values[i]!);
    return Number.isNaN(m) ? Infinity : m;
  };
  const order = Array.from({ length: values.length }, (_, i) => i);
  order.sort((a, b) => magnitude(b) - magnitude(a) || a - b);
  return order.slice(0, k).sort((a, b) => a - b);
}

function nonZeroPositions(values: Float32Array): number[] {
  const positions: number[] = [];
  values.forEach((v, i) => {
    if (v !== 0) positions.push(i);
  });
  return positions;
}

test('top-k selects the same positions as a full sort', () => {
  // Values rounded to a few levels, so that many magnitudes tie at the threshold.
  const values = randomFloats(5000, 11).map((v) => Math.round(v));
  for (const k of [1, 7, 500, 2499, 4999, 5000]) {
    const wire = encodeTensor({ name: 'w', shape: [5000], values }, { encoding: 'topk', k });
    const view = new DataView(wire.indices!.buffer, wire.indices!.byteOffset);
    const sent = Array.from({ length: k }, (_, i) => view.getUint32(i * 4, true));
    assert.deepEqual(sent, referenceTopk(values, k), `k = ${k}`);
  }
});

test('top-k error is bounded by the smallest kept magnitude', () => {
  const n = 10_000;
  const k = 100;
  const values = randomFloats(n, 12);
  const decoded = decodeTensor(
    encodeTensor({ name: 'w', shape: [n], values }, { encoding: 'topk', k })
  ).values;
  let smallestKept = Infinity;
  let kept = 0;
  for (let i = 0; i < n; i++) {
    if (decoded[i] !== 0) {
      kept += 1;
      assert.equal(decoded[i], values[i], `kept element ${i} is exact`);
      smallestKept = Math.min(smallestKept, Math.abs(values[i]!));
    }
  }
  assert.equal(kept, k);
  let errorSquared = 0;
  let normSquared = 0;
  for (let i = 0; i < n; i++) {
    const error = values[i]! - decoded[i]!;
    assert.ok(Math.abs(error) <= smallestKept, `dropped element ${i} is at most the kept minimum`);
    errorSquared += error * error;
    normSquared += values[i]! * values[i]!;
  }
  // Dropping the n - k smallest magnitudes loses at most (1 - k/n) of the squared norm.
  assert.ok(errorSquared <= (1 - k / n) * normSquared);
});

test('top-k sends NaN and infinity so the receiver sees them', () => {
  const values = new Float32Array([5, NaN, 0.5, -Infinity, 3]);
  const decoded = decodeTensor(
    encodeTensor({ name: 'w', shape: [5], values }, { encoding: 'topk', k: 2 })
  ).values;
  assert.ok(Number.isNaN(decoded[1]!));
  assert.equal(decoded[3], -Infinity);
  assert.deepEqual(nonZeroPositions(decoded), [1, 3]);
});

test('int8 turns a non-finite tensor into NaN on decode', () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    const values = new Float32Array([1, bad, -2]);
    const decoded = decodeTensor(
      encodeTensor({ name: 'w', shape: [3], values }, { encoding: 'int8' })
    ).values;
    for (const v of decoded) assert.ok(Number.isNaN(v), `input ${bad} decodes to NaN`);
  }
});

test('int8 of an all-zero tensor decodes to zeros', () => {
  const decoded = decodeTensor(
    encodeTensor({ name: 'w', shape: [4], values: new Float32Array(4) }, { encoding: 'int8' })
  ).values;
  assert.deepEqual(Array.from(decoded), [0, 0, 0, 0]);
});

test('float16 keeps NaN, infinities and overflow as non-finite', () => {
  const values = new Float32Array([NaN, Infinity, -Infinity, 1e6]);
  const decoded = decodeTensor(
    encodeTensor({ name: 'w', shape: [4], values }, { encoding: 'float16' })
  ).values;
  assert.ok(Number.isNaN(decoded[0]!));
  assert.equal(decoded[1], Infinity);
  assert.equal(decoded[2], -Infinity);
  assert.equal(decoded[3], Infinity);
});

test('update records each tensor encoding chosen per tensor', () => {
  const update = sampleUpdate({
    tensors: [
      { name: 'kernel', shape: [100], values: randomFloats(100, 13) },
      { name: 'moving_mean', shape: [4], values: randomFloats(4, 14) },
    ],
  });
  const bytes = encodeUpdate(update, (tensor) =>
    tensor.name === 'kernel' ? { encoding: 'topk', k: 10 } : { encoding: 'float32' }
  );
  const wire = asyncfl.v1.Envelope.decode(bytes).update!.tensors!;
  assert.equal(wire[0]!.encoding, asyncfl.v1.Encoding.ENCODING_TOPK);
  assert.equal(wire[1]!.encoding, asyncfl.v1.Encoding.ENCODING_FLOAT32);
  const decoded = decodeEnvelope(bytes);
  if (decoded.kind !== 'update') return assert.fail('expected an update');
  assert.equal(nonZeroPositions(decoded.update.tensors[0]!.values).length, 10);
  assert.deepEqual(bits(decoded.update.tensors[1]!.values), bits(update.tensors[1]!.values));
});

test('compressed updates are smaller by the expected factor', () => {
  const n = 100_000;
  const update = sampleUpdate({
    tensors: [{ name: 'w', shape: [n], values: randomFloats(n, 15) }],
  });
  const float32 = encodeUpdate(update).length;
  const float16 = encodeUpdate(update, { encoding: 'float16' }).length;
  const int8 = encodeUpdate(update, { encoding: 'int8' }).length;
  const topk = encodeUpdate(update, { encoding: 'topk', k: n / 100 }).length;
  // Each size is the tensor data plus fewer than 300 bytes of fields and framing.
  const expected: [string, number, number][] = [
    ['float32', float32, 4 * n],
    ['float16', float16, 2 * n],
    ['int8', int8, n],
    // Values and uint32 indices: 8 bytes per kept element.
    ['topk', topk, 8 * (n / 100)],
  ];
  for (const [encoding, size, data] of expected) {
    assert.ok(size > data, `${encoding} is ${size} bytes, not more than its data ${data}`);
    assert.ok(size < data + 300, `${encoding} is ${size} bytes, far above its data ${data}`);
  }
});
