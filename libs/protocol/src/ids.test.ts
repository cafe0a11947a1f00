import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  InvalidFieldError,
  decodeManifest,
  encodeManifest,
  formatUpdateId,
  parseUpdateId,
  rankFromSubject,
  updateSubject,
  InvalidManifestError,
  type Manifest,
} from './index';

test('update id round trip', () => {
  const parts = { job: 'mnist', rank: 12, incarnation: 'deadbeef', seq: 99 };
  const id = formatUpdateId(parts);
  assert.equal(id, 'mnist.12.deadbeef.99');
  assert.deepEqual(parseUpdateId(id), parts);
});

test('job names with dots or wildcards are rejected', () => {
  for (const job of ['a.b', 'a*', '>', '', 'x'.repeat(65)]) {
    assert.throws(() => updateSubject(job, 0), InvalidFieldError, job);
  }
});

test('malformed update ids are rejected', () => {
  for (const id of ['mnist.1.abc', 'mnist.-1.abc.1', 'mnist.1.abc.0', 'mnist.1.a-b.1']) {
    assert.throws(() => parseUpdateId(id), InvalidFieldError, id);
  }
});

test('rank is read back from the subject', () => {
  assert.equal(rankFromSubject(updateSubject('mnist', 7), 'mnist'), 7);
  assert.equal(rankFromSubject('fl.mnist.update.07', 'mnist'), undefined);
  assert.equal(rankFromSubject('fl.other.update.7', 'mnist'), undefined);
});

const manifest: Manifest = {
  schemaVersion: 1,
  job: 'mnist',
  version: 12,
  object: 'mnist/v12',
  sha256: 'ab',
  architectureHash: 'cd',
  createdAt: new Date(0).toISOString(),
  rule: 'FedAsync',
  final: false,
  metrics: null,
  progress: {
    startedAt: new Date(0).toISOString(),
    updatesApplied: 3,
    updatesRejected: 1,
    rejectedByReason: { too_stale: 1 },
    appliedByRank: { '0': 3 },
    meanStaleness: 1.5,
    updatesPerSecond: 2,
    consumedSeq: 7,
  },
  covers: { ackFloor: 4, streamSeqs: [6, 7], applied: ['a'], rejected: [] },
};

test('manifest round trip', () => {
  assert.deepEqual(decodeManifest(encodeManifest(manifest)), manifest);
});

test('manifest with a bad field is rejected naming the field', () => {
  const bad = { ...manifest, version: -1 };
  assert.throws(() => decodeManifest(encodeManifest(bad)), /'version' must be an integer >= 0/);
  const text = new TextEncoder().encode('{not json');
  assert.throws(() => decodeManifest(text), InvalidManifestError);
});
