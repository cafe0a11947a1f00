import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PULL_HEADROOM_BYTES, pullBatchSize } from './provision';

const MIB = 1024 * 1024;

test('pull batch fits the byte bound', () => {
  // 16 MiB over messages of 1 MiB plus 8 KiB of subjects and headers: 15 messages.
  assert.equal(pullBatchSize(16 * MIB, MIB), 15);
  assert.ok(15 * (MIB + PULL_HEADROOM_BYTES) <= 16 * MIB);
  assert.equal(pullBatchSize(MIB + PULL_HEADROOM_BYTES, MIB), 1);
  assert.equal(pullBatchSize(64 * MIB, 64 * 1024), 910);
});

test('pull size without room for a message', () => {
  assert.throws(
    () => pullBatchSize(MIB, MIB),
    /a pull request of 1048576 bytes has no room for one message of max_payload 1048576 bytes.*at least 1056768/
  );
  assert.throws(() => pullBatchSize(Number.NaN, MIB), RangeError);
});
