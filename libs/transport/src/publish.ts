import { JetStreamApiError, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import { splitIntoChunks, type PreparedUpdate } from '@asyncfl/protocol';
import { PublishError, StreamFullError } from './errors';
import { permissionDenied } from './permissions';
import { UPDATE_STREAM } from './provision';

/** Retry policy and size limit for publishing one update. */
export interface PublishUpdateOptions {
  /** The server's `max_payload`, in bytes; headers count against it. */
  readonly maxPayload: number;
  /** Wait for each acknowledgement, in milliseconds. */
  readonly ackTimeoutMs?: number;
  /** Attempts per message before giving up; every attempt reuses the same message id. */
  readonly maxAttempts?: number;
  /** Base wait before a retry, doubled per attempt with jitter, in milliseconds. */
  readonly retryWaitMs?: number;
  /** Called before each retry, so a service can log it. */
  readonly onRetry?: (event: PublishRetryEvent) => void;
  /** Name of the publishing identity, used in permission errors; `client` when omitted. */
  readonly identity?: string;
}

/** Details of a retry that is about to happen, and its cause. */
export interface PublishRetryEvent {
  readonly subject: string;
  readonly msgId: string;
  readonly attempt: number;
  readonly waitMs: number;
  readonly error: Error;
}

/** Acknowledgement of a published update. */
export interface PublishedUpdate {
  /** Stream sequences of the message or of each chunk, in index order. */
  readonly streamSeqs: number[];
  /** 1 when published whole. */
  readonly messages: number;
  /** Messages the server reported as duplicates of an earlier publish with the same id. */
  readonly duplicates: number;
}

/** Default wait for a publish acknowledgement: 5 s. */
export const DEFAULT_ACK_TIMEOUT_MS = 5_000;
/** Default attempts per message: 8. */
export const DEFAULT_PUBLISH_ATTEMPTS = 8;
/** Default base wait before a retry: 200 ms. */
export const DEFAULT_RETRY_WAIT_MS = 200;

/** Bytes the `Nats-Msg-Id` header block adds to a message. */
export function msgIdHeaderBytes(msgId: string): number {
  return 'NATS/1.0\r\nNats-Msg-Id: '.length + Buffer.byteLength(msgId) + 4;
}

/** Upper bound of the bytes a chunk envelope adds around its data. */
function chunkEnvelopeOverhead(updateId: string): number {
  return Buffer.byteLength(updateId) + 64;
}

function isStreamFull(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return /maximum (bytes|messages) exceeded|resource limits exceeded|insufficient resources/i.test(
    err.message
  );
}

function isRetriable(err: unknown): boolean {
  if (err instanceof JetStreamApiError) return err.status === 503 || err.status === 408;
  if (!(err instanceof Error)) return false;
  return /timeout|timed out|no responders|disconnect|reconnect|connection (closed|draining)|503/i.test(
    `${err.name} ${err.message}`
  );
}

const sleep = (msValue: number) => new Promise((resolve) => setTimeout(resolve, msValue));

async function publishWithRetry(
  js: JetStreamClient,
  subject: string,
  data: Uint8Array,
  msgId: string,
  options: PublishUpdateOptions
): Promise<PubAck> {
  const attempts = options.maxAttempts ?? DEFAULT_PUBLISH_ATTEMPTS;
  const baseWait = options.retryWaitMs ?? DEFAULT_RETRY_WAIT_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await js.publish(subject, data, {
        msgID: msgId,
        timeout: options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS,
      });
    } catch (err) {
      // A denied publish never succeeds on retry.
      const denied = permissionDenied(err, options.identity ?? 'client');
      if (denied) throw denied;
      if (isStreamFull(err)) {
        throw new StreamFullError(
          UPDATE_STREAM,
          `stream ${UPDATE_STREAM} is full and refused message '${msgId}' on ${subject}; raise its byte limit or let the aggregator catch up`,
          { cause: err }
        );
      }
      const error = err instanceof Error ? err : new Error(String(err));
      if (!isRetriable(err) || attempt >= attempts) {
        throw new PublishError(
          subject,
          msgId,
          `publish of '${msgId}' to ${subject} failed after ${attempt} attempt(s): ${error.message}`,
          { cause: err }
        );
      }
      const waitMs = Math.round(baseWait * 2 ** (attempt - 1) * (0.5 + Math.random()));
      options.onRetry?.({ subject, msgId, attempt, waitMs, error });
      await sleep(waitMs);
    }
  }
}

/**
 * Publishes an update envelope with its id as `Nats-Msg-Id`. An envelope that does not fit the
 * server's payload limit is split into chunks with ids `<update id>.<index>`. A prepared update
 * is written straight into its message or chunks, which saves copying a large update once.
 * A retried publish reuses its id, so the server drops it if the first attempt landed, and
 * a duplicate acknowledgement counts as success.
 */
export async function publishUpdate(
  js: JetStreamClient,
  subject: string,
  updateId: string,
  envelope: Uint8Array | PreparedUpdate,
  options: PublishUpdateOptions
): Promise<PublishedUpdate> {
  const envelopeBytes = envelope instanceof Uint8Array ? envelope.length : envelope.byteLength;
  if (envelopeBytes + msgIdHeaderBytes(updateId) <= options.maxPayload) {
    const bytes = envelope instanceof Uint8Array ? envelope : envelope.toBytes();
    const ack = await publishWithRetry(js, subject, bytes, updateId, options);
    return { streamSeqs: [ack.seq], messages: 1, duplicates: ack.duplicate ? 1 : 0 };
  }
  const longestChunkId = `${updateId}.${Math.ceil(envelopeBytes / 1024)}`;
  const chunkData =
    options.maxPayload - msgIdHeaderBytes(longestChunkId) - chunkEnvelopeOverhead(updateId);
  if (chunkData < 1024) {
    throw new PublishError(
      subject,
      updateId,
      `the server's max_payload of ${options.maxPayload} bytes leaves too little room for chunk data`
    );
  }
  const chunks =
    envelope instanceof Uint8Array
      ? splitIntoChunks(updateId, envelope, chunkData)
      : envelope.toChunks(updateId, chunkData);
  const streamSeqs: number[] = [];
  let duplicates = 0;
  for (const [index, chunk] of chunks.entries()) {
    const ack = await publishWithRetry(js, subject, chunk, `${updateId}.${index}`, options);
    streamSeqs.push(ack.seq);
    if (ack.duplicate) duplicates += 1;
  }
  return { streamSeqs, messages: chunks.length, duplicates };
}
