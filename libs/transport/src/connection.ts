import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { ConnectError } from './errors';

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
  try {
    return await connect({
      servers: [...options.servers],
      name: options.name,
      timeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      maxReconnectAttempts: -1,
      reconnectTimeWait: options.reconnectWaitMs ?? DEFAULT_RECONNECT_WAIT_MS,
      reconnectJitter: options.reconnectJitterMs ?? DEFAULT_RECONNECT_JITTER_MS,
      pingInterval: 10_000,
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ConnectError(
      options.servers,
      `cannot connect to NATS at ${options.servers.join(', ')}: ${reason}; check that the server is running and reachable`,
      { cause: err }
    );
  }
}
