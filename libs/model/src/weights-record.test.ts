import assert from 'node:assert/strict';
import {
  appendFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { ModelSpec } from '@asyncfl/protocol';
import { ModelLoadError, ShapeMismatchError, WeightMissingError } from './errors';
import { randomWeights } from './test-utils';
import { readWeightsRecord, WeightsRecorder } from './weights-record';

const dir = mkdtempSync(join(tmpdir(), 'asyncfl-weights-record-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const SPEC: ModelSpec = [
  { name: 'dense1/kernel', shape: [3, 5], dtype: 'float32', trainable: true },
  { name: 'dense1/bias', shape: [5], dtype: 'float32', trainable: true },
  { name: 'empty', shape: [0], dtype: 'float32', trainable: false },
  { name: 'out/bias', shape: [1], dtype: 'float32', trainable: true },
];

describe('WeightsRecorder', () => {
  test('round-trips versions, times and values', () => {
    const path = join(dir, 'round-trip.bin');
    const recorder = new WeightsRecorder(path, SPEC);
    const written = [1, 2, 3].map((seed) => randomWeights(SPEC, seed));
    written.forEach((weights, i) => recorder.append(10 + i, 1_796_000_000_123.5 + i, weights));
    recorder.close();

    const contents = readWeightsRecord(path);

    assert.deepEqual(
      contents.tensors.map((t) => [t.name, [...t.shape]]),
      SPEC.map((t) => [t.name, [...t.shape]])
    );
    assert.equal(contents.truncatedBytes, 0);
    assert.deepEqual(
      contents.versions.map((v) => v.version),
      [10, 11, 12]
    );
    assert.deepEqual(
      contents.versions.map((v) => v.timeMs),
      [1_796_000_000_123.5, 1_796_000_000_124.5, 1_796_000_000_125.5]
    );
    contents.versions.forEach((version, i) => {
      for (const t of SPEC) {
        assert.deepEqual(version.weights.get(t.name), written[i]!.get(t.name), t.name);
      }
    });
  });

  test('copies values, so later changes do not alter a record', () => {
    const path = join(dir, 'copy.bin');
    const recorder = new WeightsRecorder(path, SPEC);
    const weights = randomWeights(SPEC, 4);
    const before = Float32Array.from(weights.get('dense1/bias')!);
    recorder.append(1, 0, weights);
    weights.get('dense1/bias')!.fill(7);
    recorder.close();

    assert.deepEqual(readWeightsRecord(path).versions[0]!.weights.get('dense1/bias'), before);
  });

  test('reads values from a subarray view', () => {
    const path = join(dir, 'view.bin');
    const recorder = new WeightsRecorder(path, SPEC);
    const weights = randomWeights(SPEC, 5);
    const backing = new Float32Array(16);
    backing.set(weights.get('dense1/bias')!, 3);
    weights.set('dense1/bias', backing.subarray(3, 8));
    recorder.append(1, 0, weights);
    recorder.close();

    assert.deepEqual(
      readWeightsRecord(path).versions[0]!.weights.get('dense1/bias'),
      backing.slice(3, 8)
    );
  });

  test('rejects a missing tensor', () => {
    const recorder = new WeightsRecorder(join(dir, 'missing.bin'), SPEC);
    const weights = randomWeights(SPEC, 6);
    weights.delete('out/bias');

    assert.throws(() => recorder.append(1, 0, weights), WeightMissingError);
    recorder.close();
  });

  test('rejects values of the wrong length', () => {
    const recorder = new WeightsRecorder(join(dir, 'length.bin'), SPEC);
    const weights = randomWeights(SPEC, 7);
    weights.set('dense1/bias', new Float32Array(4));

    assert.throws(
      () => recorder.append(1, 0, weights),
      (err: unknown) => err instanceof ShapeMismatchError && /dense1\/bias/.test(err.message)
    );
    recorder.close();
  });

  test('rejects an append after close', () => {
    const path = join(dir, 'closed.bin');
    const recorder = new WeightsRecorder(path, SPEC);
    recorder.close();

    assert.throws(() => recorder.append(1, 0, randomWeights(SPEC, 8)), /closed/);
  });
});

describe('readWeightsRecord', () => {
  test('leaves out a record cut short', () => {
    const path = join(dir, 'cut.bin');
    const recorder = new WeightsRecorder(path, SPEC);
    recorder.append(1, 0, randomWeights(SPEC, 9));
    recorder.append(2, 0, randomWeights(SPEC, 10));
    recorder.close();
    const size = readFileSync(path).length;
    truncateSync(path, size - 9);

    const contents = readWeightsRecord(path);

    assert.deepEqual(
      contents.versions.map((v) => v.version),
      [1]
    );
    // A record is 12 bytes of version and time and 21 float32 values.
    assert.equal(contents.truncatedBytes, 12 + 4 * 21 - 9);
  });

  test('rejects a file of another kind', () => {
    const path = join(dir, 'other.bin');
    writeFileSync(path, 'not a record at all');

    assert.throws(
      () => readWeightsRecord(path),
      (err: unknown) => err instanceof ModelLoadError && /not a weights record/.test(err.message)
    );
  });

  test('rejects a header that runs past the end', () => {
    const path = join(dir, 'short-header.bin');
    const length = Buffer.alloc(4);
    length.writeUInt32LE(1000, 0);
    writeFileSync(
      path,
      Buffer.concat([Buffer.from('AFLWREC1', 'latin1'), length, Buffer.from('{}')])
    );

    assert.throws(
      () => readWeightsRecord(path),
      (err: unknown) => err instanceof ModelLoadError && /1000 bytes/.test(err.message)
    );
  });

  const headerCases: { name: string; header: string }[] = [
    {
      name: 'negative dimension',
      header: JSON.stringify({ tensors: [{ name: 'a', shape: [-1] }] }),
    },
    { name: 'no tensor list', header: JSON.stringify({ layers: [] }) },
    { name: 'tensor without a name', header: JSON.stringify({ tensors: [{ shape: [2] }] }) },
    { name: 'invalid JSON', header: '{"tensors": [' },
  ];
  for (const { name, header } of headerCases) {
    test(`rejects a header with ${name}`, () => {
      const path = join(dir, `bad-header-${name.replaceAll(' ', '-')}.bin`);
      const bytes = Buffer.from(header, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32LE(bytes.length, 0);
      writeFileSync(path, Buffer.concat([Buffer.from('AFLWREC1', 'latin1'), length, bytes]));
      appendFileSync(path, Buffer.alloc(12));

      assert.throws(
        () => readWeightsRecord(path),
        (err: unknown) =>
          err instanceof ModelLoadError && /list of tensors|not valid JSON/.test(err.message)
      );
    });
  }
});
