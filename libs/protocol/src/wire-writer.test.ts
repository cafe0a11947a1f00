import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  SCHEMA_VERSION,
  InvalidFieldError,
  assertRank,
  decodeEnvelope,
  decodeSnapshot,
  encodeChunk,
  encodeSnapshot,
  encodeTensor,
  encodeUpdate,
  prepareUpdate,
  splitIntoChunks,
  type TensorEncoding,
  type UpdateFields,
} from './index';
import { asyncfl } from './generated/asyncfl.js';

const pb = asyncfl.v1;

/** Encodes `update` with the generated protobufjs code, the reference for the one-pass writer. */
function referenceEncoding(update: UpdateFields, encoding: TensorEncoding): Uint8Array {
  const message = pb.Envelope.create({
    update: {
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
      tensors: update.tensors.map((t) => encodeTensor(t, { encoding, k: 2 })),
      dpEpsilon: update.privacy?.epsilon ?? 0,
      dpDelta: update.privacy?.delta ?? 0,
    },
  });
  return pb.Envelope.encode(message).finish();
}

/** Splits with the generated protobufjs code for each chunk. */
function referenceChunks(updateId: string, envelope: Uint8Array, size: number): Uint8Array[] {
  const count = Math.ceil(envelope.length / size);
  return Array.from({ length: count }, (_, index) =>
    encodeChunk({
      updateId,
      index,
      count,
      totalBytes: envelope.length,
      data: envelope.subarray(index * size, Math.min((index + 1) * size, envelope.length)),
    })
  );
}

const tensorArbitrary = fc.record({
  name: fc.string({ minLength: 1, maxLength: 12, unit: 'binary' }),
  values: fc.array(fc.float({ noDefaultInfinity: false }), { minLength: 1, maxLength: 300 }),
  rows: fc.integer({ min: 1, max: 3 }),
});

const updateArbitrary = fc.record({
  job: fc.string({ maxLength: 20, unit: 'binary' }),
  rank: fc.nat({ max: 2 ** 32 - 1 }),
  workerId: fc.string({ maxLength: 20, unit: 'binary' }),
  incarnation: fc.string({ maxLength: 10 }),
  seq: fc.oneof(fc.constant(0), fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
  baseVersion: fc.oneof(fc.constant(0), fc.constant(-0), fc.nat({ max: 2 ** 40 })),
  numExamples: fc.oneof(fc.constant(0), fc.nat()),
  localSteps: fc.oneof(fc.constant(-0), fc.nat({ max: 2 ** 32 - 1 })),
  localLr: fc.oneof(fc.constant(0), fc.constant(-0), fc.float()),
  trainLoss: fc.oneof(fc.constant(0), fc.double()),
  architectureHash: fc.oneof(fc.constant(''), fc.constant('ab'.repeat(32))),
  privacy: fc.option(fc.record({ epsilon: fc.double(), delta: fc.double({ min: 1e-9, max: 1 }) }), {
    nil: undefined,
  }),
  tensors: fc.array(tensorArbitrary, { maxLength: 4 }),
  encoding: fc.constantFrom<TensorEncoding>('float32', 'float16', 'int8', 'topk'),
});

const sampleDefaults = {
  job: '',
  rank: 0,
  workerId: '',
  incarnation: '',
  seq: 0,
  baseVersion: 0,
  numExamples: 0,
  localSteps: 0,
  localLr: 0,
  trainLoss: 0,
  architectureHash: '',
  privacy: undefined,
  encoding: 'float32' as const,
};

type UpdateSample = typeof updateArbitrary extends fc.Arbitrary<infer T> ? T : never;

function updateOf(sample: UpdateSample): UpdateFields {
  const { encoding: _encoding, privacy, tensors, ...fields } = sample;
  return {
    ...fields,
    ...(privacy === undefined ? {} : { privacy }),
    tensors: tensors.map((t) => {
      const columns = Math.ceil(t.values.length / t.rows);
      const values = new Float32Array(t.rows * columns);
      values.set(t.values);
      return { name: t.name, shape: [t.rows, columns], values };
    }),
  };
}

test('update bytes match protobufjs', () => {
  fc.assert(
    fc.property(updateArbitrary, (sample) => {
      const update = updateOf(sample);
      const options = { encoding: sample.encoding, k: 2 };
      const expected = referenceEncoding(update, sample.encoding);
      const prepared = prepareUpdate(update, options);
      assert.equal(prepared.byteLength, expected.length);
      assert.deepEqual(prepared.toBytes(), new Uint8Array(expected));
      assert.deepEqual(encodeUpdate(update, options), new Uint8Array(expected));
    }),
    { numRuns: 300 }
  );
});

test('chunks match protobufjs splitting', () => {
  fc.assert(
    fc.property(
      updateArbitrary,
      fc.integer({ min: 1, max: 5000 }),
      fc.string({ maxLength: 40, unit: 'binary' }),
      (sample, chunkDataBytes, updateId) => {
        const update = updateOf(sample);
        const envelope = referenceEncoding(update, sample.encoding);
        const expected = referenceChunks(updateId, envelope, chunkDataBytes).map(
          (chunk) => new Uint8Array(chunk)
        );
        const direct = prepareUpdate(update, { encoding: sample.encoding, k: 2 }).toChunks(
          updateId,
          chunkDataBytes
        );
        assert.deepEqual(direct, expected);
        assert.deepEqual(splitIntoChunks(updateId, envelope, chunkDataBytes), expected);
      }
    ),
    { numRuns: 300 }
  );
});

const snapshotArbitrary = fc.record({
  job: fc.string({ maxLength: 20, unit: 'binary' }),
  version: fc.oneof(fc.constant(0), fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
  architectureHash: fc.oneof(fc.constant(''), fc.constant('cd'.repeat(32))),
  weights: fc.array(tensorArbitrary, { maxLength: 3 }),
  stateTensors: fc.array(tensorArbitrary, { maxLength: 3 }),
  stateScalars: fc.dictionary(
    fc.string({ maxLength: 12, unit: 'binary' }),
    fc.oneof(fc.constant(0), fc.constant(-0), fc.double())
  ),
});

test('snapshot bytes match protobufjs', () => {
  fc.assert(
    fc.property(snapshotArbitrary, (sample) => {
      const tensorsOf = (list: typeof sample.weights) =>
        updateOf({ ...sampleDefaults, tensors: list }).tensors;
      const snapshot = {
        job: sample.job,
        version: sample.version,
        architectureHash: sample.architectureHash,
        weights: tensorsOf(sample.weights),
        stateTensors: tensorsOf(sample.stateTensors),
        stateScalars: sample.stateScalars,
      };
      const expected = pb.Snapshot.encode(
        pb.Snapshot.create({
          schemaVersion: SCHEMA_VERSION,
          job: snapshot.job,
          version: snapshot.version,
          architectureHash: snapshot.architectureHash,
          weights: snapshot.weights.map((t) => encodeTensor(t)),
          stateTensors: snapshot.stateTensors.map((t) => encodeTensor(t)),
          stateScalars: { ...snapshot.stateScalars },
        })
      ).finish();
      const bytes = encodeSnapshot(snapshot);
      assert.deepEqual(bytes, new Uint8Array(expected));
      const decoded = decodeSnapshot(bytes);
      assert.equal(decoded.version, snapshot.version);
      assert.deepEqual(Object.keys(decoded.stateScalars), Object.keys(snapshot.stateScalars));
    }),
    { numRuns: 300 }
  );
});

test('large update chunks decode back', () => {
  const values = new Float32Array(300_000).map((_, i) => Math.sin(i));
  const update: UpdateFields = {
    job: 'mnist',
    rank: 7,
    workerId: 'w-7',
    incarnation: 'cafe0001',
    seq: 12,
    baseVersion: 40,
    numExamples: 64,
    localSteps: 5,
    localLr: 0.05,
    trainLoss: 0.4,
    architectureHash: 'ab'.repeat(32),
    tensors: [{ name: 'dense/kernel', shape: [1000, 300], values }],
  };

  const prepared = prepareUpdate(update);
  const chunks = prepared.toChunks('mnist.7.cafe0001.12', 256 * 1024);
  assert.equal(chunks.length, Math.ceil(prepared.byteLength / (256 * 1024)));

  const whole = new Uint8Array(prepared.byteLength);
  let offset = 0;
  for (const [index, bytes] of chunks.entries()) {
    const envelope = decodeEnvelope(bytes);
    assert.equal(envelope.kind, 'chunk');
    if (envelope.kind !== 'chunk') continue;
    assert.equal(envelope.chunk.index, index);
    assert.equal(envelope.chunk.count, chunks.length);
    assert.equal(envelope.chunk.totalBytes, prepared.byteLength);
    whole.set(envelope.chunk.data, offset);
    offset += envelope.chunk.data.length;
  }
  assert.equal(offset, prepared.byteLength);

  const decoded = decodeEnvelope(whole);
  assert.equal(decoded.kind, 'update');
  if (decoded.kind !== 'update') return;
  assert.equal(decoded.update.seq, 12);
  assert.deepEqual(decoded.update.tensors[0]!.values, values);
});

function smallUpdate(values: Float32Array, overrides: Partial<UpdateFields> = {}): UpdateFields {
  return {
    job: 'mnist',
    rank: 0,
    workerId: 'w-0',
    incarnation: 'cafe0001',
    seq: 1,
    baseVersion: 0,
    numExamples: 1,
    localSteps: 1,
    localLr: 0.1,
    trainLoss: 1,
    architectureHash: '',
    tensors: [{ name: 'b', shape: [values.length], values }],
    ...overrides,
  };
}

function decodedValues(bytes: Uint8Array): number[] {
  const decoded = decodeEnvelope(bytes);
  assert.equal(decoded.kind, 'update');
  return decoded.kind === 'update' ? [...decoded.update.tensors[0]!.values] : [];
}

test('prepared update reads values at first write', () => {
  const values = new Float32Array([1, 2, 3]);
  const prepared = prepareUpdate(smallUpdate(values));
  values[1] = 20;
  assert.deepEqual(decodedValues(prepared.toBytes()), [1, 20, 3]);
});

test('prepared update resends its first bytes', () => {
  const values = new Float32Array(1000).fill(1);
  const prepared = prepareUpdate(smallUpdate(values));
  const first = prepared.toChunks('mnist.0.cafe0001.1', 1024);
  values.fill(2);
  const again = prepared.toChunks('mnist.0.cafe0001.1', 1024);
  assert.equal(again, first);
  assert.deepEqual(decodedValues(prepared.toBytes()), new Array(1000).fill(1));
  const resized = prepared.toChunks('mnist.0.cafe0001.1', 700);
  assert.deepEqual(resized, splitIntoChunks('mnist.0.cafe0001.1', prepared.toBytes(), 700));
});

test('chunks match protobufjs at varint boundaries', () => {
  // Data lengths and chunk sizes around 2^7, 2^14 and 2^21, where length prefixes grow a byte.
  for (const count of [31, 32, 4095, 4096, 524_287, 524_288]) {
    const update = smallUpdate(new Float32Array(count).map((_, i) => i));
    const envelope = referenceEncoding(update, 'float32');
    for (const size of [127, 128, 16_383, 16_384, 2 ** 21 - 1, 2 ** 21, envelope.length]) {
      if (envelope.length / size > 20_000) continue;
      const expected = referenceChunks('mnist.0.cafe0001.1', envelope, size).map(
        (chunk) => new Uint8Array(chunk)
      );
      const chunks = prepareUpdate(update).toChunks('mnist.0.cafe0001.1', size);
      assert.deepEqual(chunks, expected, `${count} values in chunks of ${size} bytes`);
    }
  }
});

test('values the wire would alter are rejected', () => {
  const values = new Float32Array([1, 2]);
  const cases: [string, () => unknown, RegExp][] = [
    [
      'lone surrogate',
      () => prepareUpdate(smallUpdate(values, { job: 'a\uD800b' })),
      /'job'.*surrogate/,
    ],
    [
      'rank above uint32',
      () => prepareUpdate(smallUpdate(values, { rank: 2 ** 32 })),
      /'rank'.*2\^32/,
    ],
    ['negative rank', () => prepareUpdate(smallUpdate(values, { rank: -1 })), /'rank'/],
    [
      'fractional steps',
      () => prepareUpdate(smallUpdate(values, { localSteps: 1.5 })),
      /'localSteps'/,
    ],
    [
      'fractional shape',
      () =>
        prepareUpdate(
          smallUpdate(values, {
            tensors: [{ name: 'b', shape: [1.5, 2], values: new Float32Array(3) }],
          })
        ),
      /tensor 'b'/,
    ],
    [
      'surrogate in a scalar key',
      () =>
        encodeSnapshot({
          job: 'mnist',
          version: 1,
          architectureHash: '',
          weights: [],
          stateTensors: [],
          stateScalars: { ['k\uDC00']: 1 },
        }),
      /stateScalars key/,
    ],
  ];
  for (const [name, run, message] of cases) {
    assert.throws(
      run,
      (err: unknown) => err instanceof InvalidFieldError && message.test(err.message),
      name
    );
  }
  assert.throws(() => assertRank(2 ** 32), InvalidFieldError);
  assert.doesNotThrow(() => assertRank(2 ** 32 - 1));
});

test('chunk size below 1 is rejected', () => {
  assert.throws(() => splitIntoChunks('mnist.0.a.1', new Uint8Array(10), 0), /chunk size/);
  assert.throws(() => splitIntoChunks('mnist.0.a.1', new Uint8Array(10), 1.5), /chunk size/);
});
