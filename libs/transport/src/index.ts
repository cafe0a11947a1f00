export {
  TransportErrorCode,
  TransportError,
  ConnectError,
  ProvisionError,
  PublishError,
  StreamFullError,
  ServerProcessError,
  RankClaimedError,
  ManifestConflictError,
  SnapshotError,
  PermissionDeniedError,
  CredentialsError,
} from './errors';
export {
  connectNats,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_RECONNECT_WAIT_MS,
  DEFAULT_RECONNECT_JITTER_MS,
} from './connection';
export type { ConnectionOptions } from './connection';
export { loadCredentials, redactServerUrls, securedConnectionOptions } from './connection';
export type {
  NatsCredentials,
  ClientTlsOptions,
  CredentialSources,
  ClientSecuritySettings,
} from './connection';
export {
  AGGREGATOR_IDENTITY,
  OPERATOR_IDENTITY,
  workerIdentity,
  jobIdentities,
  inboxPrefixFor,
  workerPermissions,
  aggregatorPermissions,
  operatorPermissions,
  permissionsFor,
  renderAuthorizationConfig,
  permissionDenied,
} from './permissions';
export { generateJobCredentials } from './credentials';
export type { IdentityCredential, JobCredentials } from './credentials';
export type { Identity, IdentityRole, SubjectPermissions, AuthorizedUser } from './permissions';
export {
  UPDATE_STREAM,
  MODEL_BUCKET,
  WORKER_BUCKET,
  SNAPSHOT_STORE,
  DEFAULT_PROVISION_OPTIONS,
  updateStreamConfig,
  provisionAssets,
  openAssets,
  aggregatorDurableName,
  ensureAggregatorConsumer,
  pullBatchSize,
  PULL_HEADROOM_BYTES,
} from './provision';
export type { ProvisionOptions, JetStreamAssets, ConsumerOptions, WorkerAssets } from './provision';
export {
  publishUpdate,
  msgIdHeaderBytes,
  DEFAULT_ACK_TIMEOUT_MS,
  DEFAULT_PUBLISH_ATTEMPTS,
  DEFAULT_RETRY_WAIT_MS,
} from './publish';
export type { PublishUpdateOptions, PublishRetryEvent, PublishedUpdate } from './publish';
export { claimRank, RankLease } from './claims';
export type { RankClaim, ClaimOptions } from './claims';
export {
  sha256Hex,
  readLatestManifest,
  writeManifest,
  putSnapshot,
  getSnapshot,
} from './snapshots';
export type { ManifestEntry } from './snapshots';
export { LocalNatsServer, LocalNatsCluster, findNatsServerBinary, freePort } from './server';
export type { LocalServerOptions, LocalClusterOptions } from './server';
