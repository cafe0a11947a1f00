import { latestManifestKey } from '@asyncfl/protocol';
import { UPDATE_STREAM } from '@asyncfl/transport';
import type { AggregatorStatus, NatsResources } from './status';

/** Outcome of one health check. */
export interface CheckResult {
  readonly ok: boolean;
  readonly detail: string;
}

/** Outcome of a probe: `ok` only when every check passed. */
export interface HealthReport {
  readonly ok: boolean;
  readonly checks: Readonly<Record<string, CheckResult>>;
}

/** What the probes read: the aggregator or a stand-in with the same two methods. */
export interface HealthSource {
  status(): AggregatorStatus;
  natsResources(): NatsResources | undefined;
}

/**
 * Longest time the periodic task may stall before liveness fails, in ms. The task runs every
 * 500 ms through the same queue as message handling, so a stall this long means the queue
 * is stuck, not busy: a snapshot of a few MB is written in well under a second.
 */
export const MAX_TICK_STALL_MS = 60_000;

/** Time allowed for each NATS request of the readiness probe, in ms. */
export const PROBE_TIMEOUT_MS = 2_000;

function report(checks: Record<string, CheckResult>): HealthReport {
  return { ok: Object.values(checks).every((c) => c.ok), checks };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} timed out after ${timeoutMs} ms`)),
      timeoutMs
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Checks that the process should keep running: the run has not failed, the NATS connection
 * is not closed for good, and the work queue still makes progress. A NATS server that is
 * merely unreachable fails readiness, not liveness, because the client reconnects by itself
 * and a restart would not help.
 */
export function checkLiveness(source: HealthSource, now = Date.now()): HealthReport {
  const status = source.status();
  const resources = source.natsResources();
  const checks: Record<string, CheckResult> = {
    run: { ok: status.phase !== 'failed', detail: `phase ${status.phase}` },
  };
  if (resources !== undefined && status.phase !== 'stopped') {
    const closed = resources.nc.isClosed();
    checks.connection = {
      ok: !closed,
      detail: closed ? 'the NATS connection is closed' : 'the NATS connection is open',
    };
  }
  if (status.phase === 'running' || status.phase === 'draining') {
    const stalledMs = now - status.lastTickAt;
    checks.workQueue = {
      ok: stalledMs <= MAX_TICK_STALL_MS,
      detail: `last periodic task ${stalledMs} ms ago (limit ${MAX_TICK_STALL_MS} ms)`,
    };
  }
  return report(checks);
}

async function checkConnection(resources: NatsResources, timeoutMs: number): Promise<CheckResult> {
  if (resources.nc.isClosed()) return { ok: false, detail: 'the NATS connection is closed' };
  try {
    const rttMs = await withTimeout(resources.nc.rtt(), timeoutMs, 'NATS round trip');
    return { ok: true, detail: `NATS round trip ${rttMs.toFixed(1)} ms` };
  } catch (err) {
    return { ok: false, detail: message(err) };
  }
}

async function checkConsumer(resources: NatsResources, timeoutMs: number): Promise<CheckResult> {
  if (resources.durable === '') return { ok: false, detail: 'the consumer is not created yet' };
  try {
    const info = await withTimeout(
      resources.assets.jsm.consumers.info(UPDATE_STREAM, resources.durable),
      timeoutMs,
      `consumer info of ${resources.durable}`
    );
    return {
      ok: true,
      detail: `consumer ${resources.durable}: ${info.num_pending} pending, ${info.num_ack_pending} awaiting acknowledgement`,
    };
  } catch (err) {
    return { ok: false, detail: `consumer ${resources.durable}: ${message(err)}` };
  }
}

async function checkVersionStore(
  resources: NatsResources,
  job: string,
  timeoutMs: number
): Promise<CheckResult> {
  const key = latestManifestKey(job);
  try {
    const [entry] = await withTimeout(
      Promise.all([resources.assets.modelKv.get(key), resources.assets.snapshots.status()]),
      timeoutMs,
      'version store read'
    );
    if (entry === null) return { ok: false, detail: `manifest key ${key} not found` };
    return { ok: true, detail: `manifest ${key} at revision ${entry.revision}` };
  } catch (err) {
    return { ok: false, detail: `version store: ${message(err)}` };
  }
}

/**
 * Checks that the aggregator can do its work now: it consumes updates, NATS answers a
 * round trip, the server knows its durable consumer, and the manifest key and the snapshot
 * object store can be read.
 */
export async function checkReadiness(
  source: HealthSource,
  timeoutMs = PROBE_TIMEOUT_MS
): Promise<HealthReport> {
  const status = source.status();
  const resources = source.natsResources();
  const checks: Record<string, CheckResult> = {
    phase: {
      ok: status.phase === 'running',
      detail:
        status.phase === 'running' ? 'consuming updates' : `phase ${status.phase}, not consuming`,
    },
  };
  if (resources === undefined) {
    checks.connection = { ok: false, detail: 'not connected to NATS yet' };
    return report(checks);
  }
  const [connection, consumer, versionStore] = await Promise.all([
    checkConnection(resources, timeoutMs),
    checkConsumer(resources, timeoutMs),
    checkVersionStore(resources, status.job, timeoutMs),
  ]);
  return report({ ...checks, connection, consumer, versionStore });
}
