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
