import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import pino from 'pino';
import { thinPoints, type DashboardData } from './dashboard';
import { MAX_TICK_STALL_MS, checkLiveness, checkReadiness, type HealthReport } from './health';
import { AggregatorHttpServer, HttpListenError } from './http';
import { AggregatorMetrics } from './metrics';
import type { AggregatorPhase, AggregatorStatus } from './status';

const silent = pino({ level: 'silent' });

function statusOf(overrides: Partial<AggregatorStatus> = {}): AggregatorStatus {
  return {
    job: 'unit',
    phase: 'running',
    rule: 'fedasync(alpha=0.6)',
    version: 12,
    snapshotVersion: 10,
    updatesApplied: 12,
    updatesRejected: 1,
    rejectedByReason: { too_stale: 1, decode_error: 0 },
    appliedByRank: { '0': 7, '1': 5 },
    metrics: { version: 10, loss: 0.75, top1: 0.81, top5: 0.97, examples: 2000 },
    evaluations: [
      { version: 5, loss: 1.5, top1: 0.6, top5: 0.9, examples: 2000, elapsedS: 1 },
      { version: 10, loss: 0.75, top1: 0.81, top5: 0.97, examples: 2000, elapsedS: 2 },
    ],
    stopReason: null,
    lastTickAt: Date.now(),
    privacy: null,
    workerPrivacy: {},
    ...overrides,
  };
}

/** Returns the value of one sample line of a Prometheus text document. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('aggregator HTTP server', () => {
  let status: AggregatorStatus;
  let metrics: AggregatorMetrics;
  let server: AggregatorHttpServer;

  before(async () => {
    status = statusOf();
    metrics = new AggregatorMetrics({ job: 'unit', processMetrics: false });
    metrics.bind(() => status);
    server = await AggregatorHttpServer.start({
      host: '127.0.0.1',
      port: 0,
      source: { status: () => status, natsResources: () => undefined },
      metrics,
      log: silent,
    });
  });

  after(async () => {
    await server?.close();
  });

  test('port 0 picks a free port', () => {
    assert.ok(server.port > 0);
    assert.equal(server.url, `http://127.0.0.1:${server.port}`);
  });

  test('metrics reflect observed updates', async () => {
    metrics.messageReceived('fl.unit.update.0', 1000);
    metrics.messageReceived('fl.unit.update.1', 500);
    metrics.updateApplied(0, 0);
    metrics.updateApplied(0, 3);
    metrics.updateApplied(1, 300);
    metrics.updateRejected('too_stale');
    metrics.ruleSubmitted(0.002);
    const response = await fetch(`${server.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    assert.equal(sample(text, 'asyncfl_updates_applied_total'), 3);
    assert.equal(sample(text, 'asyncfl_received_bytes_total'), 1500);
    assert.equal(sample(text, 'asyncfl_received_messages_total'), 2);
    assert.equal(sample(text, 'asyncfl_updates_rejected_total{reason="too_stale"}'), 1);
    assert.equal(sample(text, 'asyncfl_updates_rejected_total{reason="decode_error"}'), 0);
    assert.equal(sample(text, 'asyncfl_rank_updates_applied_total{rank="0"}'), 2);
    assert.equal(sample(text, 'asyncfl_rank_updates_applied_total{rank="1"}'), 1);
    assert.equal(sample(text, 'asyncfl_update_staleness_versions_bucket{le="0"}'), 1);
    assert.equal(sample(text, 'asyncfl_update_staleness_versions_bucket{le="3"}'), 2);
    assert.equal(sample(text, 'asyncfl_update_staleness_versions_bucket{le="256"}'), 2);
    assert.equal(sample(text, 'asyncfl_update_staleness_versions_bucket{le="+Inf"}'), 3);
    assert.equal(sample(text, 'asyncfl_update_staleness_versions_sum'), 303);
    assert.equal(sample(text, 'asyncfl_update_apply_seconds_count'), 1);
    assert.equal(sample(text, 'asyncfl_model_version'), 12);
    assert.equal(sample(text, 'asyncfl_snapshot_version'), 10);
    assert.equal(sample(text, 'asyncfl_evaluation_top1_accuracy'), 0.81);
    assert.equal(sample(text, 'asyncfl_evaluation_top5_accuracy'), 0.97);
    assert.equal(sample(text, 'asyncfl_evaluation_loss'), 0.75);
    assert.equal(sample(text, 'asyncfl_ready'), 1);
    assert.equal(sample(text, 'asyncfl_info{fl_job="unit",rule="fedasync(alpha=0.6)"}'), 1);
  });

  test('evaluation gauges are NaN before the first evaluation', async () => {
    const saved = status;
    status = statusOf({ metrics: null, evaluations: [] });
    try {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      assert.ok(Number.isNaN(sample(text, 'asyncfl_evaluation_top1_accuracy')));
      assert.ok(Number.isNaN(sample(text, 'asyncfl_evaluation_loss')));
    } finally {
      status = saved;
    }
  });

  test('dashboard data match the status and metrics', async () => {
    const response = await fetch(`${server.url}/api/dashboard`);
    assert.equal(response.status, 200);
    const data = (await response.json()) as DashboardData;
    assert.equal(data.version, 12);
    assert.deepEqual(
      data.evaluations.map((p) => p.version),
      [5, 10]
    );
    assert.deepEqual(data.rejectedByReason, { too_stale: 1 });
    assert.deepEqual(
      data.ranks.map((r) => [r.rank, r.applied]),
      [
        [0, 7],
        [1, 5],
      ]
    );
    assert.ok(data.ranks.every((r) => r.lastSeenAt !== null));
    const bars = new Map(data.staleness.bars.map((b) => [b.le, b.count]));
    assert.equal(bars.get('0'), 1);
    assert.equal(bars.get('3'), 1);
    assert.equal(bars.get('+Inf'), 1);
    assert.equal(data.staleness.count, 3);
  });

  test('dashboard page is served without outside resources', async () => {
    const response = await fetch(`${server.url}/`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
    const html = await response.text();
    assert.match(html, /<svg id="accuracy-chart"/);
    assert.match(html, /fetch\('api\/dashboard'/);
    assert.doesNotMatch(html, /(src|href)="https?:/);
  });

  test('healthz passes and readyz fails without NATS', async () => {
    const live = await fetch(`${server.url}/healthz`);
    assert.equal(live.status, 200);
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 503);
    const body = (await ready.json()) as HealthReport;
    assert.equal(body.ok, false);
    assert.equal(body.checks.connection?.ok, false);
  });

  test('unknown path and method are refused', async () => {
    assert.equal((await fetch(`${server.url}/nothing`)).status, 404);
    const post = await fetch(`${server.url}/metrics`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });

  test('taken port raises HttpListenError', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await assert.rejects(
        AggregatorHttpServer.start({
          host: '127.0.0.1',
          port,
          source: { status: () => status, natsResources: () => undefined },
          metrics,
          log: silent,
        }),
        (err: unknown) => {
          assert.ok(err instanceof HttpListenError);
          assert.equal(err.code, 'FL_HTTP_LISTEN_FAILED');
          assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port} .*EADDRINUSE`));
          return true;
        }
      );
    } finally {
      blocker.close();
    }
  });
});

describe('health checks', () => {
  const source = (phase: AggregatorPhase, lastTickAt = Date.now()) => ({
    status: () => statusOf({ phase, lastTickAt }),
    natsResources: () => undefined,
  });

  test('liveness fails after a fatal error', () => {
    const report = checkLiveness(source('failed'));
    assert.equal(report.ok, false);
    assert.equal(report.checks.run?.ok, false);
  });

  test('liveness fails when the work queue stalls', () => {
    const now = Date.now();
    assert.equal(checkLiveness(source('running', now - 1000), now).ok, true);
    const stalled = checkLiveness(source('running', now - MAX_TICK_STALL_MS - 1), now);
    assert.equal(stalled.ok, false);
    assert.equal(stalled.checks.workQueue?.ok, false);
  });

  test('liveness passes while starting', () => {
    assert.equal(checkLiveness(source('starting', 0)).ok, true);
  });

  test('readiness fails outside the running phase', async () => {
    for (const phase of ['starting', 'draining', 'stopped'] as const) {
      const report = await checkReadiness(source(phase));
      assert.equal(report.checks.phase?.ok, false, phase);
      assert.equal(report.ok, false, phase);
    }
  });
});

describe('thinPoints', () => {
  test('keeps short series whole', () => {
    assert.deepEqual(thinPoints([1, 2, 3], 5), [1, 2, 3]);
  });

  test('keeps first and last of long series', () => {
    const points = Array.from({ length: 1001 }, (_, i) => i);
    const kept = thinPoints(points, 11);
    assert.equal(kept.length, 11);
    assert.equal(kept[0], 0);
    assert.equal(kept.at(-1), 1000);
    assert.deepEqual(kept, [0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
  });
});
