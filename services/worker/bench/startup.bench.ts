/**
 * Measures what `--count N` costs on one host: start-up time and resident memory of N workers.
 *
 * 1. The real launcher (one child process per rank) against a nats-server started here, both
 *    bundled as for deployment and run through tsx. It reports the time from launch until every
 *    rank is claimed, and the RSS of the launcher and of its workers at that moment.
 * 2. The same worker start-up (backend, data, model, training check, shard) without NATS, in
 *    N child processes and in N worker threads of one process: time until all are ready,
 *    summed RSS, and the steps per second they then reach together. Each measurement runs in a
 *    fresh process of this file bundled by esbuild, because worker threads do not inherit the
 *    tsx loader.
 *
 *   node --import tsx services/worker/bench/startup.bench.ts [--count 4] [--repeats 3] [--no-write]
 *
 * Needs nats-server for part 1. Writes its section of docs/benchmarks.md between the
 * worker-startup-bench markers.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { loadWorkerConfig } from '@asyncfl/config';
import { BatchSampler, createPartitioner, createRng, loadDataSplit, subset } from '@asyncfl/data';
import { checkTrainable, createModel, initBackend, LocalTrainer } from '@asyncfl/model';
import { LocalNatsServer, connectNats, provisionAssets } from '@asyncfl/transport';
import { replaceSection } from '../../../scripts/benchmark-section';

const args = process.argv.slice(2);
const countIndex = args.indexOf('--count');
const COUNT = countIndex >= 0 ? Number(args[countIndex + 1]) : 4;
const WRITE = !args.includes('--no-write');
const TRAIN_SECONDS = 6;
const repeatsIndex = args.indexOf('--repeats');
const REPEATS = repeatsIndex >= 0 ? Number(args[repeatsIndex + 1]) : 3;
const root = fileURLToPath(new URL('../../../', import.meta.url));
const script = fileURLToPath(import.meta.url);

// ----- Worker start-up without NATS, shared by the process and thread variants -----

interface Ready {
  readonly readyMs: number;
  readonly rss: number;
}

interface Trained {
  readonly steps: number;
  readonly seconds: number;
}

/**
 * Runs the compute part of `Worker.start` for `rank`, then waits for `start` and trains for
 * `TRAIN_SECONDS`. `report` sends messages to the parent.
 */
async function workerStartUp(
  rank: number,
  world: number,
  launchedAt: number,
  report: (message: unknown) => void,
  start: Promise<void>
): Promise<void> {
  const config = loadWorkerConfig({ args: ['--world', String(world)], env: {} });
  await initBackend(config.backend);
  const { train } = loadDataSplit(config.data);
  const model = createModel(config.model.name, {
    hidden: [...config.model.hidden],
    seed: config.model.seed,
    inputShape: train.imageShape,
  });
  const trainer = new LocalTrainer(model, {
    learningRate: config.training.learningRate,
    batchSize: config.training.batchSize,
  });
  checkTrainable(model);
  const shard = createPartitioner(config.partition).partition(train.labels, world, 42)[rank]!;
  const sampler = new BatchSampler(
    subset(train, shard),
    Uint32Array.from({ length: shard.length }, (_, index) => index),
    config.training.batchSize,
    createRng(config.training.seed + rank)
  );
  const ready: Ready = { readyMs: Date.now() - launchedAt, rss: process.memoryUsage().rss };
  report(ready);
  await start;
  const began = performance.now();
  let steps = 0;
  while (performance.now() - began < TRAIN_SECONDS * 1000) {
    trainer.trainSteps(() => sampler.nextBatch(), 1);
    steps++;
  }
  const trained: Trained = { steps, seconds: (performance.now() - began) / 1000 };
  report(trained);
}

interface VariantResult {
  readonly allReadyMs: number;
  /** RSS of the process that starts the workers, before it starts them. */
  readonly parentRss: number;
  /** RSS of the worker processes, or what the threads added to their process. */
  readonly workersRss: number;
  readonly stepsPerSecond: number;
}

async function runProcesses(count: number): Promise<VariantResult> {
  const parentRss = process.memoryUsage().rss;
  const launchedAt = Date.now();
  const children = Array.from({ length: count }, (_, rank) =>
    fork(script, ['--process-child', String(rank), String(count), String(launchedAt)], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    })
  );
  const readies = await Promise.all(children.map((child) => nextMessage<Ready>(child)));
  const allReadyMs = Date.now() - launchedAt;
  const workersRss = sum(readies.map((ready) => ready.rss));
  const trained = children.map((child) => nextMessage<Trained>(child));
  for (const child of children) child.send('start');
  const rates = (await Promise.all(trained)).map((result) => result.steps / result.seconds);
  await Promise.all(children.map((child) => new Promise((resolve) => child.once('exit', resolve))));
  return { allReadyMs, parentRss, workersRss, stepsPerSecond: sum(rates) };
}

async function runThreads(count: number): Promise<VariantResult> {
  const parentRss = process.memoryUsage().rss;
  const launchedAt = Date.now();
  const threads = Array.from(
    { length: count },
    (_, rank) => new Worker(script, { workerData: { rank, world: count, launchedAt } })
  );
  await Promise.all(threads.map((thread) => nextMessage<Ready>(thread)));
  const allReadyMs = Date.now() - launchedAt;
  // One process, whose RSS covers every thread: the workers' share is what it grew by.
  const workersRss = process.memoryUsage().rss - parentRss;
  const trained = threads.map((thread) => nextMessage<Trained>(thread));
  for (const thread of threads) thread.postMessage('start');
  const rates = (await Promise.all(trained)).map((result) => result.steps / result.seconds);
  await Promise.all(threads.map((thread) => thread.terminate()));
  return { allReadyMs, parentRss, workersRss, stepsPerSecond: sum(rates) };
}

function nextMessage<T>(source: ChildProcess | Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    source.once('message', (message: T) => resolve(message));
    source.once('error', reject);
  });
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

// ----- The real launcher against nats-server -----

interface LauncherResult {
  readonly allClaimedMs: number;
  readonly launcherRss: number;
  readonly workersRss: number;
}

/** Reads VmRSS of a process from /proc, in bytes. */
function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

async function runLauncher(
  command: readonly string[],
  url: string,
  job: string
): Promise<LauncherResult> {
  const launchedAt = Date.now();
  const launcher = spawn(
    command[0]!,
    [
      ...command.slice(1),
      '--count',
      String(COUNT),
      '--world',
      String(COUNT),
      '--nats',
      url,
      '--job',
      job,
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] }
  );
  const claimedPids = new Set<number>();
  const allClaimedMs = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('workers did not claim their ranks')), 180_000);
    let buffered = '';
    launcher.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        // tfjs prints a plain-text banner on stdout; only the JSON log lines count.
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as { msg?: string; pid?: number; err?: unknown };
        if (entry.msg === 'worker failed') reject(new Error(`a worker failed: ${line}`));
        if (entry.msg === 'rank claimed' && entry.pid !== undefined) claimedPids.add(entry.pid);
        if (claimedPids.size === COUNT) {
          clearTimeout(timer);
          resolve(Date.now() - launchedAt);
        }
      }
    });
    launcher.once('exit', (code) => reject(new Error(`launcher exited early with ${code}`)));
  }).catch((error: unknown) => {
    launcher.kill('SIGKILL');
    throw error;
  });
  const launcherRss = rssOf(launcher.pid!);
  const workersRss = sum([...claimedPids].map(rssOf));
  launcher.kill('SIGTERM');
  await new Promise((resolve) => launcher.once('exit', resolve));
  return { allClaimedMs, launcherRss, workersRss };
}

/** Bundles `entry` with the flags of the worker's Nx build target, into dist/bench. */
function bundle(entry: string, name: string): string {
  // Inside the repository, so that the bundle's external packages resolve from node_modules.
  const outfile = join(root, 'dist/bench/worker-startup', name);
  mkdirSync(dirname(outfile), { recursive: true });
  const result = spawnSync(
    join(root, 'node_modules/.bin/esbuild'),
    [
      entry,
      '--bundle',
      '--platform=node',
      '--format=esm',
      '--target=node20',
      '--external:@nats-io/*',
      '--external:@tensorflow/*',
      '--external:pino',
      '--external:convict',
      '--external:protobufjs',
      '--external:mnist',
      '--external:long',
      '--log-level=warning',
      `--outfile=${outfile}`,
    ],
    { cwd: root, stdio: 'inherit' }
  );
  if (result.status !== 0) throw new Error(`esbuild failed to bundle ${entry}`);
  return outfile;
}

/** Runs one variant measurement in a fresh process of the bundled benchmark. */
function measureVariant(benchBundle: string, variant: string, count: number): VariantResult {
  const result = spawnSync(process.execPath, [benchBundle, '--variant', variant, String(count)], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const last = result.stdout.trim().split('\n').pop() ?? '';
  if (result.status !== 0 || !last.startsWith('{')) {
    throw new Error(`${variant} x${count} failed with status ${result.status}: ${last}`);
  }
  return JSON.parse(last) as VariantResult;
}

// ----- Report -----

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(0);
}

function medianBy<T>(results: readonly T[], key: (result: T) => number): T {
  return [...results].sort((a, b) => key(a) - key(b))[Math.floor(results.length / 2)]!;
}

async function main(): Promise<void> {
  const loadBefore = loadavg()[0]!;
  const server = await LocalNatsServer.start();
  // Workers expect the buckets that the aggregator creates.
  const nc = await connectNats({ servers: [server.url], name: 'startup-bench' });
  await provisionAssets(nc);
  await nc.close();
  const workerBundle = bundle('services/worker/src/main.ts', 'worker.js');
  const benchBundle = bundle('services/worker/bench/startup.bench.ts', 'startup-bench.js');
  const launcherRows: string[] = [];
  try {
    const commands: [string, string[]][] = [
      ['bundle (node dist main.js)', [process.execPath, workerBundle]],
      // Node with the tsx loader, as under `nx serve worker`, but without the tsx command's own
      // wrapper process, so that the measured launcher is the process that forks the workers.
      [
        'tsx loader (node --import tsx)',
        [process.execPath, '--import', 'tsx', 'services/worker/src/main.ts'],
      ],
    ];
    for (const [label, command] of commands) {
      const results: LauncherResult[] = [];
      for (let repeat = 0; repeat < REPEATS; repeat++) {
        results.push(await runLauncher(command, server.url, `startup${repeat}`));
      }
      const typical = medianBy(results, (result) => result.allClaimedMs);
      console.error(`${label}: ${JSON.stringify(results)}`);
      launcherRows.push(
        `| ${label} | ${COUNT} | ${results.map((r) => (r.allClaimedMs / 1000).toFixed(1)).join(', ')} | ` +
          `${mib(typical.workersRss)} | ${mib(typical.workersRss / COUNT)} | ${mib(typical.launcherRss)} |`
      );
    }
  } finally {
    await server.stop();
  }

  const variantRows: string[] = [];
  for (const [label, variant] of [
    ['child processes', 'processes'],
    ['worker threads', 'threads'],
  ] as const) {
    for (const count of [1, COUNT]) {
      const results: VariantResult[] = [];
      for (let repeat = 0; repeat < REPEATS; repeat++) {
        results.push(measureVariant(benchBundle, variant, count));
      }
      const typical = medianBy(results, (result) => result.allReadyMs);
      console.error(`${label} x${count}: ${JSON.stringify(results)}`);
      const seconds = results.map((r) => (r.allReadyMs / 1000).toFixed(1)).join(', ');
      variantRows.push(
        `| ${label} | ${count} | ${seconds} | ${mib(typical.workersRss)} | ` +
          `${mib(typical.parentRss)} | ${typical.stepsPerSecond.toFixed(0)} |`
      );
    }
  }
  rmSync(dirname(benchBundle), { recursive: true, force: true });
  const loadAfter = loadavg()[0]!;

  const section = [
    '## Worker start-up and memory with --count',
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} with ` +
      '`node --import tsx services/worker/bench/startup.bench.ts` on ' +
      `${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}, ` +
      `${(totalmem() / 2 ** 30).toFixed(0)} GiB memory, Node ${process.versions.node}. ` +
      `One-minute load average ${loadBefore.toFixed(1)} before and ${loadAfter.toFixed(1)} after: ` +
      `the machine was shared with other test runs. Each case ran ${REPEATS} times; memory is ` +
      'from the run with the median time.',
    '',
    `The launcher as shipped, \`worker --count ${COUNT}\` (one child process per rank), against a ` +
      'local nats-server: seconds from launch until every rank was claimed, and the RSS of the ' +
      'launcher and its workers at that moment. The default settings: MLP 784-128-10, the ' +
      'mnist-package digits, wasm backend.',
    '',
    '| launcher | workers | seconds until all claimed | RSS of the workers (MiB) | per worker (MiB) | RSS of the launcher (MiB) |',
    '| --- | ---: | --- | ---: | ---: | ---: |',
    ...launcherRows,
    '',
    'The same start-up without NATS (backend, data, model, training check, shard) in child ' +
      'processes and in worker threads of one process, followed by ' +
      `${TRAIN_SECONDS} s of training with all workers at once:`,
    '',
    '| variant | workers | seconds until all ready | RSS of the workers (MiB) | RSS of the parent (MiB) | steps/s in total |',
    '| --- | ---: | --- | ---: | ---: | ---: |',
    ...variantRows,
  ].join('\n');
  console.log(section);
  if (WRITE) {
    replaceSection(join(root, 'docs/benchmarks.md'), 'worker-startup-bench', section);
    console.error('wrote docs/benchmarks.md');
  }
}

if (!isMainThread) {
  const { rank, world, launchedAt } = workerData as {
    rank: number;
    world: number;
    launchedAt: number;
  };
  const start = new Promise<void>((resolve) => parentPort!.once('message', () => resolve()));
  await workerStartUp(
    rank,
    world,
    launchedAt,
    (message) => parentPort!.postMessage(message),
    start
  );
} else if (args[0] === '--process-child') {
  const start = new Promise<void>((resolve) => process.once('message', () => resolve()));
  await workerStartUp(
    Number(args[1]),
    Number(args[2]),
    Number(args[3]),
    (message) => process.send!(message),
    start
  );
  process.disconnect();
} else if (args[0] === '--variant') {
  const count = Number(args[2]);
  const result = args[1] === 'threads' ? await runThreads(count) : await runProcesses(count);
  console.log(JSON.stringify(result));
} else {
  await main();
}
