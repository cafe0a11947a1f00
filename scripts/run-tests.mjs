#!/usr/bin/env node
// Runs the project's tests with Node's built-in test runner and tsx.
//
//   node scripts/run-tests.mjs                 unit and integration tests
//   node scripts/run-tests.mjs --unit          unit tests only (no nats-server needed)
//   node scripts/run-tests.mjs --integration   integration tests only
//   node scripts/run-tests.mjs libs/data       tests under the given folders
//
// Unit tests are `*.test.ts` files under libs/, services/, scripts/ and bench/, and integration
// tests are those under integration-tests/. Integration files run one at a time because each
// starts its own nats-server processes and trains models on the two cores we have.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function findTests(dir) {
  const found = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (entry === 'node_modules' || entry === 'dist') continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (entry.endsWith('.test.ts')) found.push(path);
  }
  return found.sort();
}

const args = process.argv.slice(2);
const folders = args.filter((arg) => !arg.startsWith('--'));
const unitOnly = args.includes('--unit');
const integrationOnly = args.includes('--integration');

let unitFolders = ['libs', 'services', 'scripts', 'bench'];
let integrationFolders = ['integration-tests'];
if (folders.length > 0) {
  unitFolders = folders.filter((f) => !f.startsWith('integration-tests'));
  integrationFolders = folders.filter((f) => f.startsWith('integration-tests'));
}
const unit = integrationOnly ? [] : unitFolders.flatMap((f) => findTests(join(root, f)));
const integration = unitOnly ? [] : integrationFolders.flatMap((f) => findTests(join(root, f)));
const files = [...unit, ...integration].map((f) => relative(root, f));
if (files.length === 0) {
  console.error(`no test files found under ${[...unitFolders, ...integrationFolders].join(', ')}`);
  process.exit(1);
}

// One runner process for every file, so the run ends with a single summary. Files run one
// at a time: unit files are quick, and integration files must not compete for the CPU.
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit' }
);
process.exit(result.status ?? 1);
