// The object store's SHA-256 comes from shims/js-sha256 (node:crypto), installed in place of the
// js-sha256 package through "overrides" in the root package.json. These tests check that the
// override is in effect and that the replacement computes the published test vectors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const objectStoreEntry = require.resolve('@nats-io/obj');
const fromObjectStore = createRequire(objectStoreEntry);
const shimDir = realpathSync(fileURLToPath(new URL('../../../shims/js-sha256', import.meta.url)));

interface Hasher {
  update(message: string | Uint8Array | number[] | ArrayBuffer): Hasher;
  hex(): string;
  digest(): number[];
  arrayBuffer(): ArrayBuffer;
}
interface HashFunction {
  (message: string | Uint8Array): string;
  create(): Hasher;
  hmac: ((key: string | Uint8Array, message: string | Uint8Array) => string) & {
    create(key: string | Uint8Array): Hasher;
  };
}
const { sha256, sha224 } = fromObjectStore('js-sha256') as {
  sha256: HashFunction;
  sha224: HashFunction;
};

const hex = (bytes: number[]) => Buffer.from(bytes).toString('hex');

test('object store loads the js-sha256 replacement', () => {
  const resolved = realpathSync(fromObjectStore.resolve('js-sha256'));
  assert.equal(resolved, `${shimDir}/index.js`);
});

test('digests match FIPS 180-2 examples', () => {
  assert.equal(sha256(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(sha256('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(
    sha256('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'),
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'
  );
  const million = sha256.create();
  const block = new Uint8Array(1000).fill(0x61);
  for (let i = 0; i < 1000; i++) million.update(block);
  assert.equal(million.hex(), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  assert.equal(sha224('abc'), '23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7');
});

test('incremental hashing of views matches one-shot', () => {
  const whole = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7 + 3) & 0xff);
  // A view into a larger buffer at an odd offset, as message payloads often are.
  const padded = new Uint8Array(whole.length + 5);
  padded.set(whole, 3);
  const view = padded.subarray(3, 3 + whole.length);
  const pieces = sha256.create();
  for (let start = 0; start < view.length; start += 999) {
    pieces.update(view.subarray(start, Math.min(start + 999, view.length)));
  }
  const digest = pieces.digest();
  assert.equal(digest.length, 32);
  assert.equal(hex(digest), sha256(whole));
  assert.equal(hex(sha256.create().update(whole.buffer).digest()), sha256(whole));
  assert.equal(hex(sha256.create().update(Array.from(whole)).digest()), sha256(whole));
  assert.equal(
    Buffer.from(sha256.create().update(whole).arrayBuffer()).toString('hex'),
    sha256(whole)
  );
});

test('HMAC matches RFC 4231 case 1', () => {
  const key = new Uint8Array(20).fill(0x0b);
  assert.equal(
    sha256.hmac(key, 'Hi There'),
    'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'
  );
  assert.equal(sha256.hmac.create(key).update('Hi There').hex(), sha256.hmac(key, 'Hi There'));
});

test('hasher rejects late and invalid input', () => {
  const hasher = sha256.create().update('abc');
  hasher.digest();
  assert.throws(() => hasher.update('more'), /update\(\) called after the digest was read/);
  assert.throws(
    () => sha256.create().update(42 as unknown as string),
    /invalid message, expected a string, an ArrayBuffer, a typed array or an array of bytes, got number/
  );
});
