import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ChunkError,
  Reassembler,
  decodeEnvelope,
  encodeUpdate,
  splitIntoChunks,
  type ChunkMessage,
} from './index';

const limits = { maxUpdateBytes: 1 << 20, maxOpenSets: 4 };

function chunksOf(bytes: Uint8Array, size: number): ChunkMessage[] {
  return splitIntoChunks('mnist.1.abc.1', bytes, size).map((envelope) => {
    const decoded = decodeEnvelope(envelope);
    if (decoded.kind !== 'chunk') throw new Error('expected a chunk');
    return decoded.chunk;
  });
}

function updateBytes(): Uint8Array {
  return encodeUpdate({
    job: 'mnist',
    rank: 1,
    workerId: 'w-1',
    incarnation: 'abc',
    seq: 1,
    baseVersion: 4,
    numExamples: 64,
    localSteps: 1,
    localLr: 0.1,
    trainLoss: 1,
    architectureHash: '',
    tensors: [{ name: 'w', shape: [1000], values: new Float32Array(1000).fill(0.5) }],
  });
}

test('chunks in any order reassemble to the original bytes', () => {
  const original = updateBytes();
  const chunks = chunksOf(original, 300);
  assert.equal(chunks.length, Math.ceil(original.length / 300));
  const reassembler = new Reassembler<number>(limits);
  const order = chunks.map((_, i) => i).reverse();
  let result;
  for (const i of order) result = reassembler.add(chunks[i]!, 0, i);
  assert.equal(result?.status, 'complete');
  if (result?.status !== 'complete') return;
  assert.deepEqual(Buffer.from(result.bytes), Buffer.from(original));
  assert.deepEqual([...result.tags].sort(), order.slice().sort());
  assert.equal(reassembler.openSets, 0);
});

test('redelivered chunk adds its tag but not its data', () => {
  const chunks = chunksOf(updateBytes(), 2000);
  assert.equal(chunks.length, 3);
  const reassembler = new Reassembler<string>(limits);
  assert.equal(reassembler.add(chunks[0]!, 0, 'a').status, 'incomplete');
  assert.equal(reassembler.add(chunks[0]!, 1, 'a-again').status, 'incomplete');
  assert.equal(reassembler.add(chunks[1]!, 2, 'b').status, 'incomplete');
  const result = reassembler.add(chunks[2]!, 3, 'c');
  assert.equal(result.status, 'complete');
  if (result.status === 'complete') assert.deepEqual(result.tags, ['a', 'a-again', 'b', 'c']);
});

test('incomplete set expires after the timeout', () => {
  const chunks = chunksOf(updateBytes(), 2000);
  const reassembler = new Reassembler<number>(limits);
  reassembler.add(chunks[0]!, 1000, 1);
  assert.deepEqual(reassembler.expire(1500, 1000), []);
  const expired = reassembler.expire(2001, 1000);
  assert.equal(expired.length, 1);
  assert.equal(expired[0]!.updateId, 'mnist.1.abc.1');
  assert.equal(expired[0]!.received, 1);
  assert.equal(expired[0]!.count, 3);
  assert.equal(reassembler.openSets, 0);
});

test('chunk claiming too many bytes is rejected', () => {
  const reassembler = new Reassembler<number>({ maxUpdateBytes: 100, maxOpenSets: 4 });
  const chunk = {
    updateId: 'x.1.a.1',
    index: 0,
    count: 2,
    totalBytes: 2 ** 31,
    data: new Uint8Array(1),
  };
  assert.throws(() => reassembler.add(chunk, 0, 0), ChunkError);
});

test('chunk contradicting its set is rejected', () => {
  const reassembler = new Reassembler<number>(limits);
  const first = { updateId: 'x.1.a.1', index: 0, count: 2, totalBytes: 4, data: new Uint8Array(2) };
  reassembler.add(first, 0, 0);
  assert.throws(() => reassembler.add({ ...first, index: 1, count: 3 }, 0, 1), /claims 3 chunks/);
  assert.throws(() => reassembler.add({ ...first, index: 5 }, 0, 2), /outside \[0, 2\)/);
});

test('set whose sizes do not add up is invalid', () => {
  const reassembler = new Reassembler<number>(limits);
  const base = { updateId: 'x.1.a.1', count: 2, totalBytes: 10, data: new Uint8Array(2) };
  reassembler.add({ ...base, index: 0 }, 0, 0);
  const result = reassembler.add({ ...base, index: 1 }, 0, 1);
  assert.equal(result.status, 'invalid');
  if (result.status === 'invalid') assert.deepEqual(result.tags, [0, 1]);
});

test('open set limit is enforced', () => {
  const reassembler = new Reassembler<number>({ maxUpdateBytes: 100, maxOpenSets: 1 });
  const chunk = { updateId: 'x.1.a.1', index: 0, count: 2, totalBytes: 4, data: new Uint8Array(2) };
  reassembler.add(chunk, 0, 0);
  assert.throws(() => reassembler.add({ ...chunk, updateId: 'x.1.a.2' }, 0, 1), /limit 1/);
});

function reassemble(reassembler: Reassembler<number>, id: string, bytes: Uint8Array): Uint8Array {
  let result;
  for (const envelope of splitIntoChunks(id, bytes, 700)) {
    const decoded = decodeEnvelope(envelope);
    if (decoded.kind !== 'chunk') throw new Error('expected a chunk');
    result = reassembler.add(decoded.chunk, 0, 0);
  }
  if (result?.status !== 'complete') throw new Error(`set ${id} did not complete`);
  return result.bytes;
}

test('released bytes serve the next set', () => {
  const reassembler = new Reassembler<number>(limits);
  const original = updateBytes();
  const first = reassemble(reassembler, 'mnist.1.abc.1', original);
  const decoded = decodeEnvelope(first);
  reassembler.release(first);

  // A smaller set reuses the released memory, and decoded tensors do not share it.
  const smaller = original.subarray(0, 2000);
  const second = reassemble(reassembler, 'mnist.1.abc.2', smaller);
  assert.equal(second.buffer, first.buffer);
  assert.deepEqual(Buffer.from(second), Buffer.from(smaller));
  assert.ok(decoded.kind === 'update');
  assert.ok(decoded.update.tensors[0]!.values.every((value) => value === 0.5));

  // Without a release, and for a set larger than the spare, sets get memory of their own.
  const third = reassemble(reassembler, 'mnist.1.abc.3', original);
  assert.notEqual(third.buffer, first.buffer);
  reassembler.release(second);
  const larger = new Uint8Array(original.length + 100).fill(7);
  const fourth = reassemble(reassembler, 'mnist.1.abc.4', larger);
  assert.notEqual(fourth.buffer, first.buffer);
  assert.deepEqual(Buffer.from(fourth), Buffer.from(larger));
});

test('release ignores memory of other owners', () => {
  const reassembler = new Reassembler<number>(limits);
  // encodeUpdate may return a view of a shared Node.js buffer pool, which must never be reused.
  const original = updateBytes();
  const copy = Uint8Array.from(original);
  reassembler.release(original);
  const bytes = reassemble(reassembler, 'mnist.1.abc.5', new Uint8Array(64).fill(9));
  assert.notEqual(bytes.buffer, original.buffer);
  assert.deepEqual(Buffer.from(original), Buffer.from(copy));
});
