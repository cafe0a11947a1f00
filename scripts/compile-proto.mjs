#!/usr/bin/env node
// Regenerates libs/protocol/src/generated from libs/protocol/proto/asyncfl.proto with
// protobufjs-cli. 64-bit fields are generated as numbers; the codec still converts any Long
// it meets and rejects values above 2^53 - 1.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name) => `${root}node_modules/.bin/${name}`;
const out = 'libs/protocol/src/generated/asyncfl.js';
const run = (cmd, args) => execFileSync(bin(cmd), args, { cwd: root, stdio: 'inherit' });

run('pbjs', [
  '-t',
  'static-module',
  '-w',
  'es6',
  '--no-verify',
  '--no-delimited',
  '--no-convert',
  '--force-number',
  '-o',
  out,
  'libs/protocol/proto/asyncfl.proto',
]);
run('pbts', ['-o', out.replace(/\.js$/, '.d.ts'), out]);
