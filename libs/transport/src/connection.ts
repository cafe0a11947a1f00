import { readFileSync } from 'node:fs';
import { connect } from '@nats-io/transport-node';
import {
  credsAuthenticator,
  nkeyAuthenticator,
  usernamePasswordAuthenticator,
  type Authenticator,
  type NatsConnection,
  type TlsOptions,
} from '@nats-io/nats-core';
import { ConnectError, CredentialsError } from './errors';
import { inboxPrefixFor } from './permissions';

/**
 * How a client proves its identity: an NKey seed (`SU…`), a JWT credentials file's contents,
 * or a user name and password. Values here are secrets: never log them.
 */
export type NatsCredentials =
  | { readonly kind: 'nkey'; readonly seed: Uint8Array }
  | { readonly kind: 'creds'; readonly creds: Uint8Array }
  | { readonly kind: 'password'; readonly user: string; readonly password: string };

/** TLS files of a client connection; any of them turns TLS on. */
export interface ClientTlsOptions {
  /** PEM file of the CA that signed the server's certificate. */
  readonly caFile?: string;
  /** PEM client certificate, for servers that verify clients; needs `keyFile`. */
  readonly certFile?: string;
  /** PEM private key of `certFile`. */
  readonly keyFile?: string;
}

/** Options of a client connection. Reconnection never gives up once connected. */
export interface ConnectionOptions {
  /** Server URLs, e.g. `nats://127.0.0.1:4222`. */
  readonly servers: readonly string[];
  /** Client name shown by the server's monitoring. */
  readonly name: string;
  /** Time allowed for the first connection, in milliseconds. */
  readonly connectTimeoutMs?: number;
  /** Base wait between reconnection attempts, in milliseconds. */
  readonly reconnectWaitMs?: number;
  /** Random extra wait added to each reconnection attempt, in milliseconds. */
  readonly reconnectJitterMs?: number;
  /** Name of the identity in errors, e.g. `worker-3`; defaults to `name`. */
  readonly identity?: string;
  /** Credentials; without them the client connects anonymously. */
  readonly credentials?: NatsCredentials;
  /** TLS settings; without them the connection is plain unless a URL uses `tls://`. */
  readonly tls?: ClientTlsOptions;
  /** Subject prefix of reply inboxes; the client default `_INBOX` when omitted. */
  readonly inboxPrefix?: string;
}

/** Default time allowed for the first connection: 5 s. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** Default base wait between reconnection attempts: 250 ms. */
export const DEFAULT_RECONNECT_WAIT_MS = 250;
/** Default random extra wait per reconnection attempt: 500 ms. */
export const DEFAULT_RECONNECT_JITTER_MS = 500;

/**
 * Connects to NATS. The first connection must succeed within the timeout; after that the
 * client reconnects forever with jittered waits, so a server restart is survived.
 */
export async function connectNats(options: ConnectionOptions): Promise<NatsConnection> {
  if (options.servers.length === 0) {
    throw new ConnectError([], 'no NATS server URL is configured; set at least one server');
  }
  const tls = tlsOptions(options.tls);
  const identity = options.identity ?? options.name;
  try {
    return await connect({
      servers: [...options.servers],
      name: options.name,
      ...(options.credentials ? { authenticator: authenticatorOf(options.credentials) } : {}),
      ...(tls ? { tls } : {}),
      ...(options.inboxPrefix ? { inboxPrefix: options.inboxPrefix } : {}),
      timeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      maxReconnectAttempts: -1,
      reconnectTimeWait: options.reconnectWaitMs ?? DEFAULT_RECONNECT_WAIT_MS,
      reconnectJitter: options.reconnectJitterMs ?? DEFAULT_RECONNECT_JITTER_MS,
      pingInterval: 10_000,
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const servers = redactServerUrls(options.servers).join(', ');
    const hint = connectHint(reason, identity, tls !== undefined);
    throw new ConnectError(
      options.servers,
      `identity '${identity}' cannot connect to NATS at ${servers}: ${reason}; ${hint}`,
      { cause: err }
    );
  }
}

function connectHint(reason: string, identity: string, usesTls: boolean): string {
  if (/authorization|authentication|permissions/i.test(reason)) {
    return `check the credentials of identity '${identity}'`;
  }
  if (/certificate|tls|ssl|self.signed|handshake/i.test(reason)) {
    return `check the TLS CA, certificate and key of identity '${identity}'`;
  }
  if (usesTls) {
    // nats-server closes the connection when it rejects a client certificate, and the
    // client then only sees its attempts time out.
    return `check that the server is running and reachable, and that it accepts the client certificate of identity '${identity}'`;
  }
  return 'check that the server is running and reachable';
}

function authenticatorOf(credentials: NatsCredentials): Authenticator {
  switch (credentials.kind) {
    case 'nkey':
      return nkeyAuthenticator(credentials.seed);
    case 'creds':
      return credsAuthenticator(credentials.creds);
    case 'password':
      return usernamePasswordAuthenticator(credentials.user, credentials.password);
  }
}

function tlsOptions(tls: ClientTlsOptions | undefined): TlsOptions | undefined {
  if (!tls || (!tls.caFile && !tls.certFile && !tls.keyFile)) return undefined;
  if (Boolean(tls.certFile) !== Boolean(tls.keyFile)) {
    const setFile = tls.certFile ? 'certFile' : 'keyFile';
    throw new CredentialsError(
      tls.certFile ?? tls.keyFile ?? '',
      `a TLS client certificate needs both certFile and keyFile, but only ${setFile} is set`
    );
  }
  // Read here so a missing file is reported by name before any connection attempt.
  return {
    ...(tls.caFile ? { ca: readTextFile(tls.caFile, 'TLS CA') } : {}),
    ...(tls.certFile ? { cert: readTextFile(tls.certFile, 'TLS client certificate') } : {}),
    ...(tls.keyFile ? { key: readTextFile(tls.keyFile, 'TLS client key') } : {}),
  };
}

function readTextFile(path: string, description: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new CredentialsError(
      path,
      `cannot read the ${description} file ${path}: ${describe(err)}`,
      {
        cause: err,
      }
    );
  }
}

function describe(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code ?? (err instanceof Error ? err.message : String(err));
}

/** Where a client's credentials come from; at most one kind may be set. */
export interface CredentialSources {
  /** File holding a user NKey seed (`SU…`), as the credentials command writes. */
  readonly nkeySeedFile?: string;
  /** JWT credentials file (`.creds`) of an operator-mode server. */
  readonly credsFile?: string;
  readonly user?: string;
  readonly password?: string;
}

/**
 * Reads credentials from files or a user and password; returns undefined when none are set.
 * Errors name the file and never include its contents.
 */
export function loadCredentials(sources: CredentialSources): NatsCredentials | undefined {
  const kinds = [
    sources.nkeySeedFile ? 'an NKey seed file' : '',
    sources.credsFile ? 'a credentials file' : '',
    sources.user || sources.password ? 'a user and password' : '',
  ].filter(Boolean);
  if (kinds.length > 1) {
    throw new CredentialsError(
      sources.nkeySeedFile ?? sources.credsFile ?? '',
      `set one kind of NATS credentials, not ${kinds.join(' and ')}`
    );
  }
  if (sources.nkeySeedFile) {
    const path = sources.nkeySeedFile;
    const seed = readTextFile(path, 'NKey seed').trim();
    if (!/^SU[A-Z2-7]{56}$/.test(seed)) {
      throw new CredentialsError(
        path,
        `${path} does not hold a user NKey seed (one line starting with SU); generate one with npm run credentials`
      );
    }
    return { kind: 'nkey', seed: new TextEncoder().encode(seed) };
  }
  if (sources.credsFile) {
    const text = readTextFile(sources.credsFile, 'credentials');
    return { kind: 'creds', creds: new TextEncoder().encode(text) };
  }
  if (sources.user || sources.password) {
    if (!sources.user || !sources.password) {
      throw new CredentialsError(
        '',
        'NATS password authentication needs both a user and a password'
      );
    }
    return { kind: 'password', user: sources.user, password: sources.password };
  }
  return undefined;
}

/** Credential, inbox and TLS settings as the services' configuration holds them; '' is unset. */
export interface ClientSecuritySettings extends CredentialSources {
  readonly inboxPrefix?: string;
  readonly tls?: ClientTlsOptions;
}

/**
 * Returns the connection options that authenticate `identity` of `job`: credentials read from
 * their files, TLS files, and the inbox prefix, which defaults to `inboxPrefixFor(job,
 * identity)`. `{rank}` in a credentials path is replaced by `rank`, so one setting can serve
 * every worker of a launcher.
 */
export function securedConnectionOptions(
  settings: ClientSecuritySettings,
  job: string,
  identity: string,
  rank?: number
): Pick<ConnectionOptions, 'identity' | 'credentials' | 'tls' | 'inboxPrefix'> {
  const expand = (path: string | undefined) =>
    path && rank !== undefined ? path.replaceAll('{rank}', String(rank)) : path || undefined;
  const credentials = loadCredentials({
    nkeySeedFile: expand(settings.nkeySeedFile),
    credsFile: expand(settings.credsFile),
    user: settings.user || undefined,
    password: settings.password || undefined,
  });
  const tls = settings.tls;
  return {
    identity,
    ...(credentials ? { credentials } : {}),
    ...(tls && (tls.caFile || tls.certFile || tls.keyFile) ? { tls } : {}),
    inboxPrefix: settings.inboxPrefix || inboxPrefixFor(job, identity),
  };
}

/** Returns server URLs with any user name and password replaced by `***`, for logs. */
export function redactServerUrls(servers: readonly string[]): string[] {
  return servers.map((url) => url.replace(/^([a-z]+:\/\/)[^@/]*@/i, '$1***@'));
}
