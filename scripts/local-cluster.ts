// Runs the main job on this machine: a nats-server (unless --nats is given), the aggregator
// and N workers training on the MNIST digits, with a live progress line, a summary at the end
// and a JSON report. Ctrl-C stops everything and leaves no process behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { KvWatchEntry } from '@nats-io/kv';
import { decodeManifest, latestManifestKey, type Manifest } from '@asyncfl/protocol';
import { LocalNatsServer, connectNats, freePort, provisionAssets } from '@asyncfl/transport';

const root = fileURLToPath(new URL('..', import.meta.url));

const USAGE = `Usage: npm start -- [options]

  --workers N           workers to run (default 8)
  --nats URL            use this NATS server instead of starting one
  --job NAME            job name (default mnist-<time>)
  --rule fedasync|fedbuff   aggregation rule (default fedasync)
  --target A            stop at this held-out top-1 accuracy (default 0.92; 0 disables)
  --budget S            stop after S seconds of training (default 300)
  --report PATH         JSON report path (default runs/latest/report.json)
  --help                show this text

Every other aggregator or worker setting can be given through its environment variable;
see docs/configuration.md.`;

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '8' },
    nats: { type: 'string' },
    job: { type: 'string' },
    rule: { type: 'string', default: 'fedasync' },
    target: { type: 'string', default: '0.92' },
    budget: { type: 'string', default: '300' },
    report: { type: 'string', default: 'runs/latest/report.json' },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

function fail(message: string): never {
  console.error(`local-cluster: ${message}`);
  process.exit(2);
}

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const workers = Number(values.workers);
if (!Number.isSafeInteger(workers) || workers < 1)
  fail(`--workers must be an integer >= 1 (got ${values.workers})`);
const target = Number(values.target);
if (!(target >= 0 && target <= 1))
  fail(`--target must be a number in [0, 1] (got ${values.target})`);
const budget = Number(values.budget);
if (!Number.isSafeInteger(budget) || budget < 0)
  fail(`--budget must be an integer number of seconds >= 0 (got ${values.budget})`);
if (!['fedasync', 'fedbuff'].includes(values.rule!))
  fail(`--rule must be fedasync or fedbuff (got ${values.rule})`);
const job = values.job ?? `mnist-${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}`;
const reportPath = resolve(values.report!);
const runDir = dirname(reportPath);
mkdirSync(runDir, { recursive: true });

const children: ChildProcess[] = [];
let server: LocalNatsServer | undefined;
let stopping = false;

function startService(name: string, script: string, args: string[]): ChildProcess {
  const log = createWriteStream(join(runDir, `${name}.log`));
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, script), ...args], {
    cwd: root,
    // The IPC channel closes when this process dies, however it dies; the services stop then.
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  children.push(child);
  return child;
}

function exitOf(child: ChildProcess): Promise<number> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolvePromise) =>
    child.once('exit', (code, signal) => resolvePromise(code ?? (signal ? 128 : 0)))
  );
}

async function shutdown(): Promise<void> {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  const deadline = setTimeout(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  }, 15_000);
  await Promise.all(children.map(exitOf));
  clearTimeout(deadline);
  await server?.stop();
}

process.on('SIGINT', () => {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping: the aggregator writes its final snapshot, workers exit…');
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
});

function progressLine(m: Manifest, startedAt: number): string {
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(0).padStart(4);
  const metrics = m.metrics
    ? `top1 ${(m.metrics.top1 * 100).toFixed(1)}%  top5 ${(m.metrics.top5 * 100).toFixed(1)}%  loss ${m.metrics.loss.toFixed(3)}`
    : 'not evaluated yet';
  const rejected = m.progress.updatesRejected;
  return `[${seconds}s] version ${String(m.version).padStart(5)}  ${metrics}  ${m.progress.updatesPerSecond.toFixed(1)} updates/s  staleness ${m.progress.meanStaleness.toFixed(1)}  applied ${m.progress.updatesApplied}  rejected ${rejected}`;
}

async function main(): Promise<number> {
  let url = values.nats;
  if (url === undefined) {
    server = await LocalNatsServer.start();
    url = server.url;
    console.log(`started nats-server with JetStream at ${url} (store ${server.storeDir})`);
    console.log(
      'TLS and authentication are off: this nats-server accepts any client on 127.0.0.1; see docs/security.md for credentials and TLS'
    );
  } else {
    console.log(
      `connecting to ${url}; this script's own connection uses no credentials or TLS files`
    );
  }
  // Fails with a clear message when the configured server cannot be reached.
  const nc = await connectNats({ servers: [url], name: 'local-cluster' });
  const { modelKv } = await provisionAssets(nc);

  console.log(`job ${job}: aggregator and ${workers} workers; logs in ${runDir}/`);
  const common = ['--nats', url, '--job', job];
  // A free port unless FL_HTTP_PORT is set, so a second local cluster does not collide.
  const httpPort = process.env.FL_HTTP_PORT ?? String(await freePort());
  console.log(`dashboard at http://127.0.0.1:${httpPort}/ (metrics at /metrics)`);
  const aggregator = startService('aggregator', 'services/aggregator/src/main.ts', [
    ...common,
    '--rule',
    values.rule!,
    '--target-accuracy',
    String(target),
    '--time-budget-s',
    String(budget),
    '--report',
    reportPath,
    '--export-dir',
    join(runDir, 'model'),
    '--http-port',
    httpPort,
  ]);
  const launcher = startService('workers', 'services/worker/src/main.ts', [
    ...common,
    '--rank',
    '0',
    '--count',
    String(workers),
    '--world',
    String(workers),
    '--id',
    'local',
  ]);

  const startedAt = Date.now();
  const watch = await modelKv.watch({ key: latestManifestKey(job) });
  void (async () => {
    let lastPrinted = 0;
    for await (const entry of watch as AsyncIterable<KvWatchEntry>) {
      if (entry.operation !== 'PUT') continue;
      const manifest = decodeManifest(entry.value);
      if (manifest.final || Date.now() - lastPrinted >= 2000) {
        console.log(progressLine(manifest, startedAt));
        lastPrinted = Date.now();
      }
    }
  })();

  const aggregatorCode = await exitOf(aggregator);
  watch.stop();
  const launcherTimeout = setTimeout(() => launcher.kill('SIGTERM'), 20_000);
  const launcherCode = await exitOf(launcher);
  clearTimeout(launcherTimeout);
  await nc.close();

  if (aggregatorCode !== 0) {
    console.error(
      `the aggregator exited with code ${aggregatorCode}; see ${join(runDir, 'aggregator.log')}`
    );
    return 1;
  }
  if (!existsSync(reportPath)) {
    console.error(`no report at ${reportPath}; see ${join(runDir, 'aggregator.log')}`);
    return 1;
  }
  const report = JSON.parse(readFileSync(reportPath, 'utf8'));
  const rejected = Object.entries(report.rejectedByReason as Record<string, number>)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  console.log('');
  console.log(
    `finished: ${report.stopReason} after ${report.trainingSeconds.toFixed(1)} s of training`
  );
  console.log(`  rule              ${report.rule}`);
  console.log(`  versions          ${report.versions}`);
  if (report.final) {
    console.log(
      `  held-out top-1    ${(report.final.top1 * 100).toFixed(2)}%   top-5 ${(report.final.top5 * 100).toFixed(2)}%   loss ${report.final.loss.toFixed(4)}`
    );
  }
  if (report.timeToTargetS !== null)
    console.log(
      `  time to ${(target * 100).toFixed(0)}%       ${report.timeToTargetS.toFixed(1)} s`
    );
  console.log(
    `  updates applied   ${report.updatesApplied}; rejected ${report.updatesRejected}${rejected ? ` (${rejected})` : ''}`
  );
  console.log(`  per rank          ${JSON.stringify(report.appliedByRank)}`);
  console.log(`  report            ${reportPath}`);
  console.log(`  exported model    ${join(runDir, 'model', 'model.json')}`);
  if (launcherCode !== 0)
    console.error(`some workers exited with errors; see ${join(runDir, 'workers.log')}`);
  return 0;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(`local-cluster: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  await shutdown();
}
process.exit(code);
