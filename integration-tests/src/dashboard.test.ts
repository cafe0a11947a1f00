// Drives the aggregator's dashboard in headless Chromium during a real run (an aggregator and
// two workers on a nats-server started by the suite) and checks that the charts show the
// run's values, comparing the drawn elements with /metrics, the manifest and the run report.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { connectNats, provisionAssets } from '@asyncfl/transport';
import {
  recordManifests,
  startServer,
  startService,
  tempDir,
  type ServiceProcess,
  type TestNatsServer,
} from './harness';
import { getJson, samplesByLabel, scrape, waitFor, waitForHttpUrl } from './http-probes';

/** Debian's chromium package installs the browser here; .ci/run installs it when missing. */
const CHROMIUM = '/usr/bin/chromium';
const JOB = 'it-dashboard';

/** Flags for a browser that runs as root in a container and never contacts other hosts. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Plot area of the dashboard's line charts in SVG units, as laid out by the page. */
const PLOT_TOP = 12;
const PLOT_BOTTOM = 230;

interface Point {
  version: number;
  value: number;
  cy: number;
}

interface Bar {
  label: string;
  count: number;
  height: number;
}

interface Rendered {
  text: Record<string, string>;
  top1: Point[];
  top5: Point[];
  loss: Point[];
  staleness: Bar[];
  ranks: Bar[];
  lastSeen: Record<string, string>;
}

// Source text, not a function: tsx wraps named inner functions in esbuild's `__name`
// helper, which does not exist in the page.
const READ_DASHBOARD = `(() => {
  const text = {};
  for (const id of ['phase', 'version', 'applied', 'rejected', 'top1', 'top5', 'loss']) {
    text[id] = document.getElementById(id).textContent;
  }
  const points = (name) =>
    [...document.querySelectorAll('circle.point.' + name)].map((c) => ({
      version: Number(c.getAttribute('data-version')),
      value: Number(c.getAttribute('data-value')),
      cy: Number(c.getAttribute('cy')),
    }));
  const bars = (selector, label) =>
    [...document.querySelectorAll(selector)].map((r) => ({
      label: r.getAttribute('data-' + label),
      count: Number(r.getAttribute('data-count')),
      height: Number(r.getAttribute('height')),
    }));
  const lastSeen = {};
  for (const row of document.querySelectorAll('#rank-table tbody tr')) {
    lastSeen[row.getAttribute('data-rank')] = row.querySelector('.last-seen').getAttribute('data-last-seen');
  }
  return {
    text,
    top1: points('top1'),
    top5: points('top5'),
    loss: points('loss'),
    staleness: bars('#staleness-chart rect.bar', 'le'),
    ranks: bars('#rank-chart rect.bar-rank', 'rank'),
    lastSeen,
  };
})()`;

async function refreshCount(page: Page): Promise<number> {
  return Number(await page.getAttribute('body', 'data-refreshes'));
}

describe(
  'live dashboard in headless Chromium',
  { skip: !existsSync(CHROMIUM) && `${CHROMIUM} is not installed (apt-get install chromium)` },
  () => {
    let server: TestNatsServer;
    let nc: NatsConnection;
    let dir: string;
    let aggregator: ServiceProcess;
    let workers: ServiceProcess[] = [];
    let context: BrowserContext;
    let recorder: Awaited<ReturnType<typeof recordManifests>>;

    before(async () => {
      server = await startServer();
      nc = await connectNats({ servers: [server.url], name: 'integration-test-dashboard' });
      const { modelKv } = await provisionAssets(nc);
      recorder = await recordManifests(modelKv, JOB);
      dir = tempDir('dashboard');
    });

    after(async () => {
      recorder?.stop();
      await context?.close();
      for (const worker of workers) {
        worker.kill('SIGCONT');
        worker.kill('SIGKILL');
      }
      aggregator?.kill('SIGKILL');
      await Promise.all([aggregator?.exited, ...workers.map((w) => w.exited)]);
      await nc?.close();
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test('charts show the run values', async () => {
      const report = join(dir, 'report.json');
      const common = ['--nats', server.url, '--job', JOB];
      aggregator = startService('aggregator', [
        ...common,
        '--eval-every',
        '2',
        '--report',
        report,
        // Only a safety net: the test stops the aggregator with SIGTERM.
        '--time-budget-s',
        '300',
      ]);
      workers = [0, 1].map((rank) =>
        startService('worker', [
          ...common,
          ...['--rank', String(rank), '--count', '1', '--world', '2', '--id', 'dash'],
        ])
      );
      const url = await waitForHttpUrl(aggregator);

      context = await chromium.launchPersistentContext(join(dir, 'profile'), {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
      });
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(`${url}/?refresh=500`);
      await waitFor(
        'the dashboard to show version 8 with three evaluations',
        async () => {
          const version = Number(await page.getAttribute('body', 'data-version'));
          const points = await page.locator('circle.point.top1').count();
          return version >= 8 && points >= 3 ? true : undefined;
        },
        120_000,
        500
      );

      // Freeze the run: with both workers stopped, the values stop changing once the
      // aggregator has handled what is in flight.
      for (const worker of workers) worker.kill('SIGSTOP');
      let previous = -1;
      let stableSince = Date.now();
      await waitFor(
        'the version to stay unchanged for 2 s',
        async () => {
          const { body } = await getJson<{ version: number }>(`${url}/api/dashboard`);
          if (body.version !== previous) {
            previous = body.version;
            stableSince = Date.now();
          }
          return Date.now() - stableSince >= 2_000 ? true : undefined;
        },
        30_000
      );
      const seen = await refreshCount(page);
      await waitFor(
        'two more page refreshes',
        async () => ((await refreshCount(page)) >= seen + 2 ? true : undefined),
        10_000
      );

      const rendered = (await page.evaluate(READ_DASHBOARD)) as Rendered;
      const samples = await scrape(url);
      const manifest = recorder.manifests.at(-1)!;

      // Summary numbers.
      const version = samples.get('asyncfl_model_version')!;
      assert.equal(Number(rendered.text.version), version);
      assert.equal(Number(rendered.text.applied), samples.get('asyncfl_updates_applied_total'));
      assert.equal(rendered.text.phase, 'running');
      const top1 = samples.get('asyncfl_evaluation_top1_accuracy')!;
      assert.equal(rendered.text.top1, `${(top1 * 100).toFixed(2)}%`);
      assert.equal(rendered.text.loss, samples.get('asyncfl_evaluation_loss')!.toFixed(4));

      // Accuracy and loss charts: one point per evaluation, the newest equal to the gauges,
      // and each accuracy point drawn at the height of its value on the 0..1 axis.
      assert.ok(rendered.top1.length >= 3, `${rendered.top1.length} accuracy points`);
      assert.equal(rendered.top5.length, rendered.top1.length);
      assert.equal(rendered.loss.length, rendered.top1.length);
      const newest = rendered.top1.at(-1)!;
      assert.equal(newest.version, samples.get('asyncfl_evaluation_version'));
      assert.equal(newest.value, top1);
      assert.equal(rendered.top5.at(-1)!.value, samples.get('asyncfl_evaluation_top5_accuracy'));
      assert.equal(rendered.loss.at(-1)!.value, samples.get('asyncfl_evaluation_loss'));
      for (const point of [...rendered.top1, ...rendered.top5]) {
        const expected = PLOT_BOTTOM - point.value * (PLOT_BOTTOM - PLOT_TOP);
        assert.ok(
          Math.abs(point.cy - expected) < 0.01,
          `point at version ${point.version} with value ${point.value} drawn at y ${point.cy}, expected ${expected}`
        );
      }
      const versions = rendered.top1.map((p) => p.version);
      assert.deepEqual(
        versions,
        [...versions].sort((a, b) => a - b),
        'accuracy points are not in version order'
      );

      // Staleness histogram: the bars are the differences of the cumulative buckets.
      const buckets = samplesByLabel(samples, 'asyncfl_update_staleness_versions_bucket', 'le');
      let below = 0;
      for (const bar of rendered.staleness) {
        const cumulative = buckets.get(bar.label);
        assert.ok(cumulative !== undefined, `no bucket le="${bar.label}" in /metrics`);
        assert.equal(bar.count, cumulative - below, `bar le=${bar.label}`);
        below = cumulative;
      }
      const drawnTotal = rendered.staleness.reduce((sum, bar) => sum + bar.count, 0);
      assert.equal(drawnTotal, samples.get('asyncfl_update_staleness_versions_count'));
      const tallest = rendered.staleness.reduce((a, b) => (b.count > a.count ? b : a));
      for (const bar of rendered.staleness) {
        const expected = (tallest.height * bar.count) / tallest.count;
        assert.ok(
          Math.abs(bar.height - expected) < 0.02,
          `bar le=${bar.label} height ${bar.height}, expected ${expected}`
        );
      }

      // Per-rank bars and last-seen times.
      const byRank = samplesByLabel(samples, 'asyncfl_rank_updates_applied_total', 'rank');
      assert.deepEqual(
        rendered.ranks.map((bar) => bar.label),
        ['0', '1']
      );
      for (const bar of rendered.ranks) {
        assert.equal(bar.count, byRank.get(bar.label), `rank ${bar.label}`);
        assert.ok(bar.count > 0, `rank ${bar.label} has no applied update`);
        assert.equal(
          bar.count,
          manifest.progress.appliedByRank[bar.label],
          `manifest, rank ${bar.label}`
        );
        assert.ok(
          Date.parse(rendered.lastSeen[bar.label] ?? '') > 0,
          `rank ${bar.label} last seen`
        );
      }
      assert.equal(manifest.progress.updatesApplied, Number(rendered.text.applied));

      // Stop the run; the report's history must hold every point the chart showed.
      for (const worker of workers) worker.kill('SIGCONT');
      aggregator.kill('SIGTERM');
      assert.equal(
        await aggregator.exited,
        0,
        `aggregator failed:\n${aggregator.output.slice(-3000)}`
      );
      const history = (
        JSON.parse(readFileSync(report, 'utf8')) as {
          history: { version: number; top1: number; loss: number }[];
        }
      ).history;
      const byVersion = new Map(history.map((h) => [h.version, h]));
      for (const point of rendered.top1) {
        assert.equal(
          byVersion.get(point.version)?.top1,
          point.value,
          `report top1 at version ${point.version}`
        );
      }
      for (const point of rendered.loss) {
        assert.equal(
          byVersion.get(point.version)?.loss,
          point.value,
          `report loss at version ${point.version}`
        );
      }
      for (const worker of workers)
        assert.equal(await worker.exited, 0, worker.output.slice(-2000));
    });
  }
);
