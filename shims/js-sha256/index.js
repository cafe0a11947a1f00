'use strict';
// Replaces the js-sha256 package (see "overrides" in the root package.json). The NATS object
// store hashes every object it writes and reads with js-sha256, which computes SHA-256 in
// JavaScript. This module computes the same digests with node:crypto, in native code, and offers
// the js-sha256 0.11 calls for SHA-256 and SHA-224: one-shot, incremental (create) and HMAC.
const { createHash, createHmac } = require('node:crypto');

/** Wraps a node:crypto Hash or Hmac in the incremental interface of js-sha256. */
function hasher(hash) {
  let result;
  const finish = () => {
    result ??= hash.digest();
    return result;
  };
  return {
    update(message) {
      // js-sha256 ignores such a call. An error is clearer, and @nats-io/obj never makes it.
      if (result !== undefined)
        throw new Error(
          'js-sha256 replacement: update() called after the digest was read; create a new hasher'
        );
      hash.update(typeof message === 'string' ? message : toBytes(message));
      return this;
    },
    hex: () => finish().toString('hex'),
    toString: () => finish().toString('hex'),
    digest: () => Array.from(finish()),
    array: () => Array.from(finish()),
    arrayBuffer: () => {
      const bytes = finish();
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    },
  };
}

function toBytes(message) {
  if (ArrayBuffer.isView(message)) {
    return new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
  }
  if (message instanceof ArrayBuffer) return new Uint8Array(message);
  if (Array.isArray(message)) return Uint8Array.from(message);
  throw new TypeError(
    `js-sha256 replacement: invalid message, expected a string, an ArrayBuffer, a typed array or an array of bytes, got ${typeof message}`
  );
}

function algorithm(name) {
  const create = () => hasher(createHash(name));
  const hash = (message) => create().update(message).hex();
  hash.create = create;
  hash.update = (message) => create().update(message);
  hash.hex = hash;
  hash.digest = (message) => create().update(message).digest();
  hash.array = hash.digest;
  hash.arrayBuffer = (message) => create().update(message).arrayBuffer();
  const hmac = (key, message) => hmac.create(key).update(message).hex();
  hmac.create = (key) => hasher(createHmac(name, typeof key === 'string' ? key : toBytes(key)));
  hmac.update = (key, message) => hmac.create(key).update(message);
  hmac.hex = hmac;
  hmac.digest = (key, message) => hmac.create(key).update(message).digest();
  hmac.array = hmac.digest;
  hmac.arrayBuffer = (key, message) => hmac.create(key).update(message).arrayBuffer();
  hash.hmac = hmac;
  return hash;
}

const sha256 = algorithm('sha256');
const sha224 = algorithm('sha224');
module.exports = { sha256, sha224 };
