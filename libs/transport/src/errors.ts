/** Stable codes of the transport library's errors. */
export const TransportErrorCode = {
  connect: 'FL_TRANSPORT_CONNECT',
  provision: 'FL_TRANSPORT_PROVISION',
  publish: 'FL_TRANSPORT_PUBLISH',
  streamFull: 'FL_TRANSPORT_STREAM_FULL',
  server: 'FL_TRANSPORT_SERVER',
  rankClaimed: 'FL_TRANSPORT_RANK_CLAIMED',
  manifestConflict: 'FL_TRANSPORT_MANIFEST_CONFLICT',
  snapshot: 'FL_TRANSPORT_SNAPSHOT',
  permissionDenied: 'FL_TRANSPORT_PERMISSION_DENIED',
  credentials: 'FL_TRANSPORT_CREDENTIALS',
} as const;
export type TransportErrorCode = (typeof TransportErrorCode)[keyof typeof TransportErrorCode];

/** Base class of every error the transport library throws. */
export class TransportError extends Error {
  readonly code: TransportErrorCode;

  constructor(code: TransportErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TransportError';
    this.code = code;
  }
}

/** The initial connection to NATS failed. */
export class ConnectError extends TransportError {
  readonly servers: readonly string[];

  constructor(servers: readonly string[], message: string, options?: ErrorOptions) {
    super(TransportErrorCode.connect, message, options);
    this.name = 'ConnectError';
    this.servers = servers;
  }
}

/** A stream, consumer, bucket or object store could not be created or does not match. */
export class ProvisionError extends TransportError {
  constructor(message: string, options?: ErrorOptions) {
    super(TransportErrorCode.provision, message, options);
    this.name = 'ProvisionError';
  }
}

/** A publish was not acknowledged after every retry. */
export class PublishError extends TransportError {
  readonly subject: string;
  readonly msgId: string;

  constructor(subject: string, msgId: string, message: string, options?: ErrorOptions) {
    super(TransportErrorCode.publish, message, options);
    this.name = 'PublishError';
    this.subject = subject;
    this.msgId = msgId;
  }
}

/** The update stream reached its byte or message limit and refuses new messages. */
export class StreamFullError extends TransportError {
  readonly stream: string;

  constructor(stream: string, message: string, options?: ErrorOptions) {
    super(TransportErrorCode.streamFull, message, options);
    this.name = 'StreamFullError';
    this.stream = stream;
  }
}

/** A local nats-server process could not be found, started or reached. */
export class ServerProcessError extends TransportError {
  constructor(message: string, options?: ErrorOptions) {
    super(TransportErrorCode.server, message, options);
    this.name = 'ServerProcessError';
  }
}

/** Another live worker holds the rank. */
export class RankClaimedError extends TransportError {
  readonly job: string;
  readonly rank: number;
  readonly holder: string;

  constructor(job: string, rank: number, holder: string, message: string) {
    super(TransportErrorCode.rankClaimed, message);
    this.name = 'RankClaimedError';
    this.job = job;
    this.rank = rank;
    this.holder = holder;
  }
}

/** Another writer moved the manifest key since this aggregator last wrote it. */
export class ManifestConflictError extends TransportError {
  readonly job: string;
  readonly expectedRevision: number;

  constructor(job: string, expectedRevision: number, message: string, options?: ErrorOptions) {
    super(TransportErrorCode.manifestConflict, message, options);
    this.name = 'ManifestConflictError';
    this.job = job;
    this.expectedRevision = expectedRevision;
  }
}

/** A snapshot object is missing, or its digest or architecture does not match its manifest. */
export class SnapshotError extends TransportError {
  readonly object: string;

  constructor(object: string, message: string, options?: ErrorOptions) {
    super(TransportErrorCode.snapshot, message, options);
    this.name = 'SnapshotError';
    this.object = object;
  }
}

/** The server denied an identity permission to publish to or subscribe to a subject. */
export class PermissionDeniedError extends TransportError {
  readonly identity: string;
  readonly operation: 'publish' | 'subscribe';
  readonly subject: string;

  constructor(
    identity: string,
    operation: 'publish' | 'subscribe',
    subject: string,
    message: string,
    options?: ErrorOptions
  ) {
    super(TransportErrorCode.permissionDenied, message, options);
    this.name = 'PermissionDeniedError';
    this.identity = identity;
    this.operation = operation;
    this.subject = subject;
  }
}

/** A credentials or TLS file is missing, unreadable or not in the expected format. */
export class CredentialsError extends TransportError {
  readonly path: string;

  constructor(path: string, message: string, options?: ErrorOptions) {
    super(TransportErrorCode.credentials, message, options);
    this.name = 'CredentialsError';
    this.path = path;
  }
}
