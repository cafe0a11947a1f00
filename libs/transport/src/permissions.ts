import { PermissionViolationError } from '@nats-io/nats-core';
import { assertJobName, jobUpdateFilter, updateSubject } from '@asyncfl/protocol';
import { PermissionDeniedError } from './errors';
import { MODEL_BUCKET, SNAPSHOT_STORE, UPDATE_STREAM, WORKER_BUCKET } from './provision';

/** Role of a client identity; each role gets its own subject permissions. */
export type IdentityRole = 'aggregator' | 'operator' | 'worker';

/** A named client of one job: `aggregator`, `operator` or `worker-<rank>`. */
export interface Identity {
  readonly name: string;
  readonly role: IdentityRole;
  /** Rank of a worker identity. */
  readonly rank?: number;
}

/** Publish and subscribe rules of one identity, in nats-server's `permissions` form. */
export interface SubjectPermissions {
  readonly publish: { readonly allow: readonly string[]; readonly deny: readonly string[] };
  readonly subscribe: { readonly allow: readonly string[]; readonly deny: readonly string[] };
}

/** The aggregator's identity. */
export const AGGREGATOR_IDENTITY: Identity = { name: 'aggregator', role: 'aggregator' };
/** The read-only identity of people and tools that watch a job. */
export const OPERATOR_IDENTITY: Identity = { name: 'operator', role: 'operator' };

/** Returns the identity of the worker holding `rank`. */
export function workerIdentity(rank: number): Identity {
  if (!Number.isSafeInteger(rank) || rank < 0) {
    throw new RangeError(`rank must be an integer >= 0 (got ${rank})`);
  }
  return { name: `worker-${rank}`, role: 'worker', rank };
}

/** Returns every identity of a job with `world` workers: aggregator, operator, then the ranks. */
export function jobIdentities(world: number): Identity[] {
  if (!Number.isSafeInteger(world) || world < 1) {
    throw new RangeError(`world must be an integer >= 1 (got ${world})`);
  }
  const workers = Array.from({ length: world }, (_, rank) => workerIdentity(rank));
  return [AGGREGATOR_IDENTITY, OPERATOR_IDENTITY, ...workers];
}

/**
 * Returns the reply-inbox prefix of an identity, `_INBOX_<job>.<name>`. Each identity may
 * subscribe only below its own prefix, so no client receives another's replies. With the
 * client default `_INBOX`, a reader of `_INBOX.>` would also receive the aggregator's pull
 * deliveries, which are every worker's updates.
 */
export function inboxPrefixFor(job: string, identityName: string): string {
  assertJobName(job);
  if (!/^[A-Za-z0-9_-]+$/.test(identityName)) {
    throw new RangeError(
      `identity name must be letters, digits, '_' or '-' (got ${JSON.stringify(identityName)})`
    );
  }
  return `_INBOX_${job}.${identityName}`;
}

const API = '$JS.API';
const MODEL_STREAM = `KV_${MODEL_BUCKET}`;
const WORKER_STREAM = `KV_${WORKER_BUCKET}`;
const SNAPSHOT_STREAM = `OBJ_${SNAPSHOT_STORE}`;

/** Subjects that read snapshot objects: metadata by subject, chunks through an ordered consumer. */
function snapshotReadSubjects(): string[] {
  return [
    `${API}.STREAM.INFO.${SNAPSHOT_STREAM}`,
    // Metadata is read with `last_by_subj` in the request body, so any object can be named.
    `${API}.STREAM.MSG.GET.${SNAPSHOT_STREAM}`,
    // The subject form of consumer creation carries the filter, and the server checks that
    // it equals the filter in the body: this allows chunk readers and nothing else.
    `${API}.CONSUMER.CREATE.${SNAPSHOT_STREAM}.*.$O.${SNAPSHOT_STORE}.C.*`,
    // Replies to the flow-control messages of those push consumers.
    `$JS.FC.${SNAPSHOT_STREAM}.>`,
  ];
}

/** Subjects that watch and read one job's manifest key. */
function manifestReadSubjects(job: string): string[] {
  const key = `$KV.${MODEL_BUCKET}.${job}.latest`;
  return [
    `${API}.STREAM.INFO.${MODEL_STREAM}`,
    `${API}.DIRECT.GET.${MODEL_STREAM}.${key}`,
    `${API}.CONSUMER.CREATE.${MODEL_STREAM}.*.${key}`,
    `$JS.FC.${MODEL_STREAM}.>`,
  ];
}

/**
 * Returns the permissions of worker `rank`: publish its own updates, watch the job's manifest,
 * read snapshots, hold its own rank claim, and receive replies on its own inbox. Everything
 * else is denied because nats-server denies what no allow rule matches.
 */
export function workerPermissions(job: string, rank: number): SubjectPermissions {
  const claimKey = `$KV.${WORKER_BUCKET}.${job}.${rank}`;
  return {
    publish: {
      allow: [
        updateSubject(job, rank),
        `${API}.INFO`,
        ...manifestReadSubjects(job),
        ...snapshotReadSubjects(),
        `${API}.STREAM.INFO.${WORKER_STREAM}`,
        claimKey,
        `${API}.DIRECT.GET.${WORKER_STREAM}.${claimKey}`,
      ],
      deny: [],
    },
    subscribe: { allow: [`${inboxPrefixFor(job, workerIdentity(rank).name)}.>`], deny: [] },
  };
}

/**
 * Returns the aggregator's permissions: create and update the four JetStream assets, consume
 * the job's updates through its durable consumer, write the manifest and snapshots, delete old
 * snapshots, and receive replies on its own inbox.
 */
export function aggregatorPermissions(job: string): SubjectPermissions {
  const durable = `agg-${job}`;
  const streams = [UPDATE_STREAM, MODEL_STREAM, WORKER_STREAM, SNAPSHOT_STREAM];
  const allow = new Set([
    `${API}.INFO`,
    ...streams.map((stream) => `${API}.STREAM.INFO.${stream}`),
    ...streams.map((stream) => `${API}.STREAM.CREATE.${stream}`),
    `${API}.STREAM.UPDATE.${UPDATE_STREAM}`,
    `${API}.CONSUMER.INFO.${UPDATE_STREAM}.${durable}`,
    `${API}.CONSUMER.CREATE.${UPDATE_STREAM}.${durable}`,
    `${API}.CONSUMER.CREATE.${UPDATE_STREAM}.${durable}.${jobUpdateFilter(job)}`,
    `${API}.CONSUMER.DURABLE.CREATE.${UPDATE_STREAM}.${durable}`,
    `${API}.CONSUMER.MSG.NEXT.${UPDATE_STREAM}.${durable}`,
    `$JS.ACK.${UPDATE_STREAM}.${durable}.>`,
    ...manifestReadSubjects(job),
    `$KV.${MODEL_BUCKET}.${job}.latest`,
    ...snapshotReadSubjects(),
    `$O.${SNAPSHOT_STORE}.>`,
    // Deleting an object purges its chunks by subject.
    `${API}.STREAM.PURGE.${SNAPSHOT_STREAM}`,
  ]);
  return {
    publish: { allow: [...allow], deny: [] },
    subscribe: { allow: [`${inboxPrefixFor(job, AGGREGATOR_IDENTITY.name)}.>`], deny: [] },
  };
}

/**
 * Returns the operator's permissions: subscribe to everything and read every stream through
 * its own consumers, but write nothing, acknowledge nothing, and never pull from or change
 * the aggregator's durable consumer.
 */
export function operatorPermissions(job: string): SubjectPermissions {
  const durable = `agg-${job}`;
  return {
    publish: {
      allow: [
        `${API}.INFO`,
        `${API}.STREAM.NAMES`,
        `${API}.STREAM.LIST`,
        `${API}.STREAM.INFO.*`,
        `${API}.STREAM.MSG.GET.*`,
        `${API}.DIRECT.GET.>`,
        `${API}.CONSUMER.NAMES.*`,
        `${API}.CONSUMER.LIST.*`,
        `${API}.CONSUMER.INFO.*.*`,
        `${API}.CONSUMER.CREATE.>`,
        `${API}.CONSUMER.MSG.NEXT.*.*`,
        '$JS.FC.>',
      ],
      deny: [
        `${API}.CONSUMER.CREATE.${UPDATE_STREAM}.${durable}`,
        `${API}.CONSUMER.CREATE.${UPDATE_STREAM}.${durable}.>`,
        `${API}.CONSUMER.MSG.NEXT.${UPDATE_STREAM}.${durable}`,
      ],
    },
    subscribe: { allow: ['>'], deny: [] },
  };
}

/** Returns the subject permissions of an identity in a job. */
export function permissionsFor(identity: Identity, job: string): SubjectPermissions {
  switch (identity.role) {
    case 'aggregator':
      return aggregatorPermissions(job);
    case 'operator':
      return operatorPermissions(job);
    case 'worker':
      if (identity.rank === undefined) {
        throw new RangeError(`worker identity '${identity.name}' has no rank`);
      }
      return workerPermissions(job, identity.rank);
  }
}

/**
 * A user entry of the server's authorization block: a public NKey (`U…`), whose seed never
 * goes into the server configuration, or a user name and password, which does.
 */
export type AuthorizedUser =
  | { readonly identity: Identity; readonly nkey: string }
  | { readonly identity: Identity; readonly user: string; readonly password: string };

function renderCredential(entry: AuthorizedUser): string[] {
  if ('nkey' in entry) {
    if (!/^U[A-Z2-7]{55}$/.test(entry.nkey)) {
      throw new RangeError(
        `'${entry.nkey}' of identity '${entry.identity.name}' is not a user public NKey`
      );
    }
    return [`      nkey: ${JSON.stringify(entry.nkey)}`];
  }
  return [
    `      user: ${JSON.stringify(entry.user)}`,
    `      password: ${JSON.stringify(entry.password)}`,
  ];
}

function renderList(key: string, subjects: readonly string[], indent: string): string[] {
  // Quoted strings keep `$JS…` from being read as a variable reference.
  const items = subjects.map((subject) => `${indent}  ${JSON.stringify(subject)}`);
  return [`${indent}${key}: [`, ...items, `${indent}]`];
}

function renderRules(
  key: string,
  rules: { allow: readonly string[]; deny: readonly string[] }
): string[] {
  const indent = '          ';
  return [
    `        ${key}: {`,
    ...renderList('allow', rules.allow, indent),
    ...(rules.deny.length > 0 ? renderList('deny', rules.deny, indent) : []),
    '        }',
  ];
}

/**
 * Renders the nats-server `authorization` block that admits exactly the given users, each
 * with its identity's permissions. With NKey users only, it holds no secret.
 */
export function renderAuthorizationConfig(job: string, users: readonly AuthorizedUser[]): string {
  assertJobName(job);
  const entries = users.map((entry) => {
    const permissions = permissionsFor(entry.identity, job);
    return [
      `    # ${entry.identity.name}`,
      '    {',
      ...renderCredential(entry),
      '      permissions: {',
      ...renderRules('publish', permissions.publish),
      ...renderRules('subscribe', permissions.subscribe),
      '      }',
      '    }',
    ].join('\n');
  });
  return ['authorization {', '  users = [', entries.join('\n'), '  ]', '}', ''].join('\n');
}

function findViolation(err: unknown): PermissionViolationError | undefined {
  for (let current = err, depth = 0; current && depth < 8; depth++) {
    if (current instanceof PermissionViolationError) return current;
    if (!(current instanceof Error)) return undefined;
    current = current.cause;
  }
  return undefined;
}

/**
 * Returns a PermissionDeniedError naming the identity and subject when `err` or one of its
 * causes is the server's permission violation, and undefined otherwise. The server's own
 * message names only the subject, so the client adds who it is.
 */
export function permissionDenied(
  err: unknown,
  identity: string
): PermissionDeniedError | undefined {
  if (err instanceof PermissionDeniedError) return err;
  const violation = findViolation(err);
  if (!violation) return undefined;
  const operation = violation.operation === 'subscription' ? 'subscribe' : 'publish';
  const action = operation === 'publish' ? 'publish to' : 'subscribe to';
  return new PermissionDeniedError(
    identity,
    operation,
    violation.subject,
    `NATS denied identity '${identity}' permission to ${action} "${violation.subject}"; the server's authorization config does not grant this subject to that identity's credentials`,
    { cause: err }
  );
}
