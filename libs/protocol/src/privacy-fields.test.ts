import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeEnvelope, encodeUpdate, type UpdateFields } from './index';

function update(overrides: Partial<UpdateFields> = {}): UpdateFields {
  return {
    job: 'mnist',
    rank: 1,
    workerId: 'worker-1',
    incarnation: 'abc',
    seq: 4,
    baseVersion: 2,
    numExamples: 160,
    localSteps: 5,
    localLr: 0.1,
    trainLoss: Number.NaN,
    architectureHash: 'f'.repeat(64),
    tensors: [{ name: 'w', shape: [2], values: Float32Array.of(1, 2) }],
    ...overrides,
  };
}

function decodedUpdate(fields: UpdateFields) {
  const envelope = decodeEnvelope(encodeUpdate(fields));
  assert.equal(envelope.kind, 'update');
  return envelope.update;
}

describe('update privacy fields', () => {
  test('carry the worker epsilon and delta', () => {
    const decoded = decodedUpdate(update({ privacy: { epsilon: 1.2345678901, delta: 1e-5 } }));
    assert.deepEqual(decoded.privacy, { epsilon: 1.2345678901, delta: 1e-5 });
  });

  test('are absent without differential privacy', () => {
    const decoded = decodedUpdate(update());
    assert.equal(decoded.privacy, undefined);
    assert.ok(!('privacy' in decoded));
  });

  test('keep epsilon 0 before any step', () => {
    const decoded = decodedUpdate(update({ privacy: { epsilon: 0, delta: 1e-6 } }));
    assert.deepEqual(decoded.privacy, { epsilon: 0, delta: 1e-6 });
  });

  test('keep a NaN training loss', () => {
    assert.ok(Number.isNaN(decodedUpdate(update()).trainLoss));
  });
});
