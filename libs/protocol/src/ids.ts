import { InvalidFieldError } from './errors';

/** Job names become subject tokens and key parts, so they allow no dots or wildcards. */
const JOB_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const INCARNATION_PATTERN = /^[A-Za-z0-9]{1,32}$/;

/** Throws unless `job` is 1 to 64 letters, digits, '_' or '-'. */
export function assertJobName(job: string, field = 'job'): void {
  if (!JOB_PATTERN.test(job)) {
    throw new InvalidFieldError(
      field,
      `must be 1 to 64 letters, digits, '_' or '-' (got ${JSON.stringify(job)})`
    );
  }
}

/** Throws unless `rank` is a non-negative safe integer. */
export function assertRank(rank: number, field = 'rank'): void {
  // The wire carries the rank as a uint32, so a larger rank would arrive as another number.
  if (!Number.isSafeInteger(rank) || rank < 0 || rank > 0xffffffff) {
    throw new InvalidFieldError(field, `must be an integer in [0, 2^32 - 1] (got ${rank})`);
  }
}

/** Parts of an update id `<job>.<rank>.<incarnation>.<seq>`. */
export interface UpdateIdParts {
  readonly job: string;
  readonly rank: number;
  /** Random per worker process start, so a restarted worker never repeats an id. */
  readonly incarnation: string;
  /** Counts the updates of one incarnation, from 1. */
  readonly seq: number;
}

/** Builds the update id that is also the message's `Nats-Msg-Id`. */
export function formatUpdateId(parts: UpdateIdParts): string {
  assertJobName(parts.job);
  assertRank(parts.rank);
  if (!INCARNATION_PATTERN.test(parts.incarnation)) {
    throw new InvalidFieldError(
      'incarnation',
      `must be 1 to 32 letters or digits (got ${JSON.stringify(parts.incarnation)})`
    );
  }
  if (!Number.isSafeInteger(parts.seq) || parts.seq < 1) {
    throw new InvalidFieldError('seq', `must be an integer >= 1 (got ${parts.seq})`);
  }
  return `${parts.job}.${parts.rank}.${parts.incarnation}.${parts.seq}`;
}

/** Splits an update id into its parts, rejecting any other form. */
export function parseUpdateId(id: string): UpdateIdParts {
  const parts = id.split('.');
  const [job, rank, incarnation, seq] = parts;
  if (parts.length !== 4 || !job || !rank || !incarnation || !seq) {
    throw new InvalidFieldError(
      'update id',
      `must have the form <job>.<rank>.<incarnation>.<seq> (got ${JSON.stringify(id)})`
    );
  }
  const parsed = { job, rank: Number(rank), incarnation, seq: Number(seq) };
  formatUpdateId(parsed);
  return parsed;
}

/** Creates a random incarnation: 16 hexadecimal digits. */
export function newIncarnation(): string {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Subject a worker of `rank` publishes its updates to. */
export function updateSubject(job: string, rank: number): string {
  assertJobName(job);
  assertRank(rank);
  return `fl.${job}.update.${rank}`;
}

/** Subject filter matching every rank's updates of one job. */
export function jobUpdateFilter(job: string): string {
  assertJobName(job);
  return `fl.${job}.update.*`;
}

/** Subject filter of the shared update stream: every job, every rank. */
export const ALL_UPDATES_FILTER = 'fl.*.update.*';

/** Returns the rank encoded in an update subject, or undefined when the subject has another form. */
export function rankFromSubject(subject: string, job: string): number | undefined {
  const prefix = `fl.${job}.update.`;
  if (!subject.startsWith(prefix)) return undefined;
  const token = subject.slice(prefix.length);
  if (!/^(0|[1-9][0-9]{0,8})$/.test(token)) return undefined;
  return Number(token);
}

/** KV key in `fl-model` holding the newest manifest of a job. */
export function latestManifestKey(job: string): string {
  assertJobName(job);
  return `${job}.latest`;
}

/** KV key in `fl-workers` holding the claim of one rank. */
export function workerClaimKey(job: string, rank: number): string {
  assertJobName(job);
  assertRank(rank);
  return `${job}.${rank}`;
}

/** Object-store name of the snapshot of a version. */
export function snapshotObjectName(job: string, version: number): string {
  assertJobName(job);
  return `${job}/v${version}`;
}
