import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadWorkerConfig, workerHelp, type WorkerConfig } from '@asyncfl/config';
import { createLogger } from './logger';
import { Worker } from './worker';

/** Replaces `--rank` and `--count` in the launcher's arguments for one child worker. */
export function childArgs(args: readonly string[], rank: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--rank' || arg === '--count') {
      i += 1;
      continue;
    }
    if (arg.startsWith('--rank=') || arg.startsWith('--count=')) continue;
    out.push(arg);
  }
  return [...out, '--rank', String(rank), '--count', '1'];
}

/** Time allowed between a stop request and exit, in milliseconds. */
const SHUTDOWN_GRACE_MS = 20_000;

async function runOne(config: WorkerConfig): Promise<number> {
  const log = createLogger('worker', config.logLevel, { job: config.job, rank: config.rank });
  const worker = new Worker(config, config.rank, log);
  let stopRequested = false;
  const requestStop = (cause: string) => {
    if (stopRequested) process.exit(1);
    stopRequested = true;
    log.info({ cause }, 'stop requested');
    worker.stop();
    setTimeout(() => {
      log.error(
        { graceMs: SHUTDOWN_GRACE_MS },
        'worker did not stop within the grace period; exiting'
      );
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
  };
  process.on('SIGINT', () => requestStop('SIGINT'));
  process.on('SIGTERM', () => requestStop('SIGTERM'));
  // A launcher or supervisor holds an IPC channel to each worker: stop when it goes away.
  if (process.send) process.on('disconnect', () => requestStop('parent exited'));
  // The listener keeps the channel referenced; unreference it so it never delays exit.
  process.channel?.unref();
  try {
    log.info({ world: config.world, id: config.id }, 'worker starting');
    await worker.start();
    const exit = await worker.run();
    log.info({ exit }, 'worker stopped');
    return 0;
  } catch (err) {
    log.error({ err }, 'worker failed');
    return 1;
  } finally {
    await worker.close();
  }
}

/** Starts one child process per rank and waits for all of them. */
async function launch(config: WorkerConfig, args: readonly string[]): Promise<number> {
  const log = createLogger('worker-launcher', config.logLevel, { job: config.job });
  const script = fileURLToPath(import.meta.url);
  const children: ChildProcess[] = [];
  log.info(
    { firstRank: config.rank, count: config.count, world: config.world },
    'starting workers'
  );
  const exits = [];
  for (let rank = config.rank; rank < config.rank + config.count; rank++) {
    const child = fork(script, childArgs(args, rank), { stdio: 'inherit' });
    children.push(child);
    exits.push(
      new Promise<number>((resolve) =>
        child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)))
      )
    );
  }
  const forward = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'forwarding stop request to workers');
    for (const child of children) child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  if (process.send) process.on('disconnect', () => forward('SIGTERM'));
  // The listener keeps the channel referenced; unreference it so it never delays exit.
  process.channel?.unref();
  const codes = await Promise.all(exits);
  const failed = codes.filter((code) => code !== 0).length;
  log.info({ failed, count: codes.length }, 'all workers exited');
  return failed === 0 ? 0 : 1;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--help')) {
    console.log(
      `Usage: worker --rank R --count C --world W --id PREFIX [flags]\n\n${workerHelp()}`
    );
    return 0;
  }
  let config;
  try {
    config = loadWorkerConfig({ args });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`worker: ${err.message}`);
      return 2;
    }
    throw err;
  }
  return config.count === 1 ? runOne(config) : launch(config, args);
}

process.exitCode = await main();
