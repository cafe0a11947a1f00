import { InvalidManifestError } from './errors';
import { SCHEMA_VERSION } from './schema';

/** Held-out evaluation of one global version. */
export interface EvaluationMetrics {
  readonly version: number;
  readonly loss: number;
  /** Share of examples whose label is the model's top prediction, in [0, 1]. */
  readonly top1: number;
  /** Share of examples whose label is among the model's five top predictions, in [0, 1]. */
  readonly top5: number;
  readonly examples: number;
}

/** An update rejected since the previous snapshot, with the reason the aggregator recorded. */
export interface RejectedUpdate {
  /** Update id, or `seq:<stream sequence>` when the message was too broken to carry one. */
  readonly id: string;
  readonly reason: string;
  readonly detail: string;
}

/** Stream messages a snapshot accounts for, which a restarted aggregator skips. */
export interface ManifestCoverage {
  /** The consumer's acknowledgement floor when the snapshot was written. */
  readonly ackFloor: number;
  /** Stream sequences above the floor that this snapshot applied or rejected. */
  readonly streamSeqs: readonly number[];
  /** Ids applied since the previous snapshot, in applied order. */
  readonly applied: readonly string[];
  /** Ids rejected since the previous snapshot. */
  readonly rejected: readonly RejectedUpdate[];
}

/** Running totals since the job started, for progress displays and reports. */
export interface ManifestProgress {
  readonly startedAt: string;
  readonly updatesApplied: number;
  readonly updatesRejected: number;
  readonly rejectedByReason: Readonly<Record<string, number>>;
  readonly appliedByRank: Readonly<Record<string, number>>;
  /** Mean staleness of the updates applied since the previous snapshot. */
  readonly meanStaleness: number;
  /** Applied updates per second since the previous snapshot. */
  readonly updatesPerSecond: number;
  /**
   * Highest stream sequence the aggregator had handled when it wrote this manifest. A worker
   * compares it with the sequence of its own last publish to wait until that was consumed.
   */
  readonly consumedSeq: number;
}

/** The value stored at `<job>.latest` in the `fl-model` KV bucket. */
export interface Manifest {
  readonly schemaVersion: number;
  readonly job: string;
  readonly version: number;
  /** Object-store name of the snapshot. */
  readonly object: string;
  /** Hex SHA-256 of the snapshot object's bytes. */
  readonly sha256: string;
  /** Hex SHA-256 of the architecture (tensor names, shapes, dtypes). */
  readonly architectureHash: string;
  readonly createdAt: string;
  /** Id of the aggregator process that wrote the manifest. */
  readonly writer?: string;
  /** Description of the aggregation rule in use. */
  readonly rule: string;
  /** Set on the last manifest of a job; workers finish their step and exit. */
  readonly final: boolean;
  /** The newest evaluation, which may be of an earlier version. */
  readonly metrics: EvaluationMetrics | null;
  readonly progress: ManifestProgress;
  readonly covers: ManifestCoverage;
}

/** Serializes a manifest for the KV bucket. */
export function encodeManifest(manifest: Manifest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(manifest));
}

function expectType(value: unknown, type: string, path: string): void {
  const actual = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  if (actual !== type) {
    throw new InvalidManifestError(`manifest field '${path}' must be a ${type} (got ${actual})`);
  }
}

function expectInteger(value: unknown, path: string): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidManifestError(
      `manifest field '${path}' must be an integer >= 0 (got ${JSON.stringify(value)})`
    );
  }
}

/** Parses and checks a manifest read from the KV bucket. */
export function decodeManifest(bytes: Uint8Array): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new InvalidManifestError(`manifest of ${bytes.length} bytes is not valid JSON`, {
      cause: err,
    });
  }
  expectType(value, 'object', '.');
  const m = value as Record<string, unknown>;
  expectInteger(m.schemaVersion, 'schemaVersion');
  if ((m.schemaVersion as number) > SCHEMA_VERSION) {
    throw new InvalidManifestError(
      `manifest schemaVersion ${String(m.schemaVersion)} is newer than this reader's ${SCHEMA_VERSION}`
    );
  }
  for (const key of ['job', 'object', 'sha256', 'architectureHash', 'createdAt', 'rule']) {
    expectType(m[key], 'string', key);
  }
  expectInteger(m.version, 'version');
  expectType(m.final, 'boolean', 'final');
  if (m.metrics !== null) expectType(m.metrics, 'object', 'metrics');
  expectType(m.progress, 'object', 'progress');
  expectType(m.covers, 'object', 'covers');
  const covers = m.covers as Record<string, unknown>;
  expectInteger(covers.ackFloor, 'covers.ackFloor');
  for (const key of ['streamSeqs', 'applied', 'rejected']) {
    expectType(covers[key], 'array', `covers.${key}`);
  }
  (covers.streamSeqs as unknown[]).forEach((seq, i) =>
    expectInteger(seq, `covers.streamSeqs[${i}]`)
  );
  return value as Manifest;
}
