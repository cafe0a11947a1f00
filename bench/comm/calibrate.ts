import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT } from './processes';

/**
 * Returns the median wall time of one local step, in milliseconds, measured with `processes`
 * copies of bench/comm/step-time.ts training at the same time.
 */
export async function measureStepMs(
  processes: number,
  workerArgs: readonly string[],
  steps = 150
): Promise<number> {
  const children = Array.from({ length: processes }, (_, rank) =>
    spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'bench/comm/step-time.ts'),
        '--steps',
        String(steps),
        '--rank',
        String(rank),
        '--world',
        String(processes),
        ...workerArgs,
      ],
      { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] }
    )
  );
  const outputs = children.map((child) => {
    const lines = createInterface({ input: child.stdout! });
    let ready!: () => void;
    const readyPromise = new Promise<void>((resolve) => (ready = resolve));
    const result = new Promise<number>((resolve, reject) => {
      lines.on('line', (line) => {
        const parsed = JSON.parse(line) as { ready?: boolean; meanStepMs?: number };
        if (parsed.ready) ready();
        if (parsed.meanStepMs !== undefined) resolve(parsed.meanStepMs);
      });
      child.once('exit', (code) => reject(new Error(`step-time.ts exited with code ${code}`)));
    });
    return { readyPromise, result };
  });
  await Promise.all(outputs.map((o) => o.readyPromise));
  for (const child of children) child.stdin!.end('go\n');
  const times = (await Promise.all(outputs.map((o) => o.result))).sort((a, b) => a - b);
  return times[times.length >> 1]!;
}
