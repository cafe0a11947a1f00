// Child processes of the communication benchmarks: services and baseline programs run with tsx,
// their output kept in a log file per process.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Repository root, the working directory of every child. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A running child with its output log. */
export interface RunningProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number>;
  /**
   * Resolves with the first JSON log line whose `msg` equals `message`, or rejects when the
   * process exits first.
   */
  waitForLog(message: string): Promise<Record<string, unknown>>;
}

/** Starts `node --import tsx script ...args`, writing stdout and stderr to `<logDir>/<name>.log`. */
export function startTsx(
  name: string,
  script: string,
  args: readonly string[],
  logDir: string,
  env: NodeJS.ProcessEnv = {}
): RunningProcess {
  mkdirSync(logDir, { recursive: true });
  const log = createWriteStream(join(logDir, `${name}.log`));
  // BENCH_CPU_PROF_DIR writes a V8 CPU profile of every child there, for finding hot spots.
  const profileDir = process.env.BENCH_CPU_PROF_DIR;
  const profile = profileDir ? ['--cpu-prof', '--cpu-prof-dir', join(profileDir, name)] : [];
  const child = spawn(
    process.execPath,
    [...profile, '--import', 'tsx', join(ROOT, script), ...args],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info', ...env },
    }
  );
  child.stderr!.pipe(log);
  const waiters: { message: string; resolve: (line: Record<string, unknown>) => void }[] = [];
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    log.write(`${line}\n`);
    if (waiters.length === 0 || !line.startsWith('{')) return;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (parsed.msg === waiters[i]!.message) {
        waiters[i]!.resolve(parsed);
        waiters.splice(i, 1);
      }
    }
  });
  const exited = new Promise<number>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 0)))
  );
  return {
    name,
    child,
    exited,
    waitForLog: (message) =>
      new Promise((resolve, reject) => {
        waiters.push({ message, resolve });
        void exited.then((code) =>
          reject(new Error(`${name} exited with code ${code} before logging '${message}'`))
        );
      }),
  };
}

/** Sends SIGTERM to each running child, then SIGKILL after `graceMs`, and waits for all. */
export async function stopAll(processes: readonly RunningProcess[], graceMs = 15_000) {
  for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  }, graceMs);
  await Promise.all(processes.map((p) => p.exited));
  clearTimeout(timer);
}
