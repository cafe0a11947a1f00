// Runs every `bench:<name>` script of the root package.json in turn, so that `npm run bench`
// refreshes every section of docs/benchmarks.md. A failed benchmark does not stop the others;
// the exit code is 1 when any failed.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const names = Object.keys(pkg.scripts ?? {}).filter((name) => /^bench:[^:]+$/.test(name));
const failed = [];
for (const name of names) {
  console.error(`\n=== npm run ${name}`);
  const result = spawnSync('npm', ['run', name], { stdio: 'inherit' });
  if (result.status !== 0) failed.push(`${name} (exit ${result.status ?? result.signal})`);
}
if (failed.length > 0) {
  console.error(`\nfailed: ${failed.join(', ')}`);
  process.exitCode = 1;
} else {
  console.error(`\nran ${names.join(', ')}`);
}
