import { createHash } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import type { ObjectStore } from '@nats-io/obj';
import {
  decodeManifest,
  encodeManifest,
  latestManifestKey,
  type Manifest,
} from '@asyncfl/protocol';
import { ManifestConflictError, SnapshotError } from './errors';

/** A manifest with the KV revision it was read at. */
export interface ManifestEntry {
  readonly manifest: Manifest;
  readonly revision: number;
}

/** Returns the hex SHA-256 of some bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Reads a job's newest manifest, or null when the job has none yet. */
export async function readLatestManifest(kv: KV, job: string): Promise<ManifestEntry | null> {
  const entry = await kv.get(latestManifestKey(job));
  if (!entry || entry.operation !== 'PUT' || entry.value.length === 0) return null;
  return { manifest: decodeManifest(entry.value), revision: entry.revision };
}

/**
 * Writes a manifest only if the key is still at `expectedRevision` (0: the key must not
 * exist), so two aggregators can never both publish a version. Returns the new revision.
 */
export async function writeManifest(
  kv: KV,
  manifest: Manifest,
  expectedRevision: number
): Promise<number> {
  const key = latestManifestKey(manifest.job);
  const value = encodeManifest(manifest);
  try {
    return expectedRevision === 0
      ? await kv.create(key, value)
      : await kv.update(key, value, expectedRevision);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (/wrong last sequence|key exists/i.test(reason)) {
      throw new ManifestConflictError(
        manifest.job,
        expectedRevision,
        `manifest ${key} moved past revision ${expectedRevision}: another aggregator is writing job '${manifest.job}'`,
        { cause: err }
      );
    }
    throw err;
  }
}

/**
 * Chunk size requested for snapshot objects. nats.js lowers it to the server's max_payload
 * (1 MiB by default), so a snapshot travels in as few messages as the server allows instead
 * of its default 128 KiB chunks, each of which costs a publish round trip.
 */
const SNAPSHOT_CHUNK_BYTES = 64 * 1024 * 1024;

/** Stores snapshot bytes under `name` and returns their SHA-256. */
export async function putSnapshot(
  store: ObjectStore,
  name: string,
  bytes: Uint8Array
): Promise<string> {
  await store.putBlob({ name, options: { max_chunk_size: SNAPSHOT_CHUNK_BYTES } }, bytes);
  return sha256Hex(bytes);
}

/** Fetches snapshot bytes and checks them against the manifest's digest. */
export async function getSnapshot(store: ObjectStore, manifest: Manifest): Promise<Uint8Array> {
  const bytes = await store.getBlob(manifest.object);
  if (bytes === null) {
    throw new SnapshotError(
      manifest.object,
      `snapshot object '${manifest.object}' of version ${manifest.version} is missing from the object store`
    );
  }
  const digest = sha256Hex(bytes);
  if (digest !== manifest.sha256) {
    throw new SnapshotError(
      manifest.object,
      `snapshot object '${manifest.object}' has SHA-256 ${digest}, but its manifest says ${manifest.sha256}`
    );
  }
  return bytes;
}
