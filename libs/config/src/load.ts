import convict from 'convict';
import { existsSync } from 'node:fs';
import { ConfigError } from './errors';
import { registerFormats } from './formats';
import { checkUserPrivacy, checkWorkerPrivacy } from './privacy';
import { aggregatorSchema, workerSchema } from './schemas';
import type { AggregatorConfig, NatsConfig, WorkerConfig } from './types';

/** Sources of configuration, by default this process's arguments and environment. */
export interface ConfigSources {
  /** Command-line arguments without the node and script paths. */
  readonly args?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

interface LeafSchema {
  doc: string;
  default: unknown;
  env?: string;
  arg?: string;
}

function leaves(schema: object, prefix = ''): Map<string, LeafSchema> {
  const found = new Map<string, LeafSchema>();
  for (const [key, value] of Object.entries(schema)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (value && typeof value === 'object' && 'doc' in value && 'default' in value) {
      found.set(path, value as LeafSchema);
    } else if (value && typeof value === 'object') {
      for (const [p, leaf] of leaves(value, path)) found.set(p, leaf);
    }
  }
  return found;
}

/** Returns the help text of a schema: one line per flag with its variable and default. */
export function helpText(schema: object): string {
  const lines: string[] = [];
  for (const [path, leaf] of leaves(schema)) {
    const flag = leaf.arg ? `--${leaf.arg}` : path;
    lines.push(`  ${flag.padEnd(24)} ${leaf.doc}`);
    lines.push(
      `  ${''.padEnd(24)} key ${path}, env ${leaf.env ?? '-'}, default ${JSON.stringify(leaf.default)}`
    );
  }
  return [
    'Every option is also read from a JSON file given with --config FILE and from the listed',
    'environment variables. Flags win over variables, variables over the file.',
    '',
    ...lines,
  ].join('\n');
}

function describeSource(leaf: LeafSchema | undefined, path: string): string {
  if (!leaf) return `'${path}'`;
  const names = [`'${path}'`];
  if (leaf.arg) names.push(`--${leaf.arg}`);
  if (leaf.env) names.push(`$${leaf.env}`);
  return names.join(' / ');
}

const GLOBAL_FLAGS = new Set(['config', 'help']);

function checkFlags(args: readonly string[], known: Map<string, LeafSchema>): string[] {
  const allowed = new Set([
    ...GLOBAL_FLAGS,
    ...[...known.values()].flatMap((l) => (l.arg ? [l.arg] : [])),
  ]);
  const problems: string[] = [];
  for (const arg of args) {
    if (!arg.startsWith('--')) continue;
    const name = arg.slice(2).split('=')[0]!;
    if (!allowed.has(name))
      problems.push(`unknown flag --${name}; run with --help for the list of flags`);
  }
  return problems;
}

function configFileOf(args: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  const index = args.findIndex((a) => a === '--config' || a.startsWith('--config='));
  if (index >= 0) {
    const arg = args[index]!;
    return arg.includes('=') ? arg.slice('--config='.length) : args[index + 1];
  }
  return env.FL_CONFIG || undefined;
}

/** Loads, validates and returns the raw properties for a schema, or throws ConfigError. */
function loadRaw(schema: object, sources: ConfigSources): Record<string, unknown> {
  registerFormats();
  const args = [...(sources.args ?? process.argv.slice(2))];
  const env = sources.env ?? process.env;
  const known = leaves(schema);
  const problems = checkFlags(args, known);
  // The schema functions build a fresh object per call, so convict may keep this one.
  const config = convict(schema as convict.Schema<Record<string, unknown>>, {
    args,
    env,
  });
  const file = configFileOf(args, env);
  if (file !== undefined) {
    if (!existsSync(file)) problems.push(`config file ${JSON.stringify(file)} does not exist`);
    else {
      try {
        config.loadFile(file);
      } catch (err) {
        problems.push(`config file ${file} cannot be read: ${(err as Error).message}`);
      }
    }
  }
  try {
    config.validate({ allowed: 'strict' });
  } catch (err) {
    for (const line of (err as Error).message.split('\n')) {
      const match = /^([\w.]+): (.*)$/.exec(line.trim());
      if (match) problems.push(`${describeSource(known.get(match[1]!), match[1]!)}: ${match[2]}`);
      else if (line.trim()) problems.push(line.trim());
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config.getProperties();
}

/** Checks the NATS credential and TLS settings; `ranks` expands `{rank}` in worker paths. */
function checkNatsSecurity(problems: string[], nats: NatsConfig, ranks: readonly number[]): void {
  const kinds = [
    nats.nkeySeedFile ? '--nats-nkey-file' : '',
    nats.credsFile ? '--nats-creds' : '',
    nats.user || nats.password ? '--nats-user/--nats-password' : '',
  ].filter(Boolean);
  if (kinds.length > 1) {
    problems.push(`set one kind of NATS credentials, not ${kinds.join(' and ')}`);
  }
  if (Boolean(nats.user) !== Boolean(nats.password)) {
    problems.push(
      "'nats.user' (--nats-user, $NATS_USER) and 'nats.password' ($NATS_PASSWORD) must be set together"
    );
  }
  if (Boolean(nats.tls.certFile) !== Boolean(nats.tls.keyFile)) {
    problems.push(
      "'nats.tls.certFile' (--nats-tls-cert) and 'nats.tls.keyFile' (--nats-tls-key) must be set together"
    );
  }
  const files: [string, string][] = [
    ['nats.nkeySeedFile (--nats-nkey-file)', nats.nkeySeedFile],
    ['nats.credsFile (--nats-creds)', nats.credsFile],
    ['nats.tls.caFile (--nats-tls-ca)', nats.tls.caFile],
    ['nats.tls.certFile (--nats-tls-cert)', nats.tls.certFile],
    ['nats.tls.keyFile (--nats-tls-key)', nats.tls.keyFile],
  ];
  for (const [name, path] of files) {
    if (!path) continue;
    const paths = path.includes('{rank}')
      ? ranks.map((rank) => path.replaceAll('{rank}', String(rank)))
      : [path];
    for (const expanded of paths) {
      if (!existsSync(expanded))
        problems.push(`'${name}' file ${JSON.stringify(expanded)} does not exist`);
    }
  }
}

function requirePositive(problems: string[], value: number, name: string): void {
  if (value < 1) problems.push(`${name} must be >= 1 (got ${value})`);
}

/** Loads and checks the aggregator's configuration. Throws ConfigError listing every problem. */
export function loadAggregatorConfig(sources: ConfigSources = {}): AggregatorConfig {
  const raw = loadRaw(aggregatorSchema(), sources) as unknown as AggregatorConfig;
  const problems: string[] = [];
  requirePositive(problems, raw.rule.bufferSize, "'rule.bufferSize' (--buffer-size)");
  checkNatsSecurity(problems, raw.nats, []);
  requirePositive(problems, raw.snapshot.every, "'snapshot.every' (--snapshot-every)");
  if (raw.evaluation.every === 0 && raw.stop.targetAccuracy > 0) {
    problems.push(
      `'stop.targetAccuracy' (--target-accuracy) is ${raw.stop.targetAccuracy}, but 'evaluation.every' (--eval-every) is 0, so no evaluation could reach it: set --eval-every to 1 or more, or --target-accuracy to 0`
    );
  }
  if (raw.stop.targetAccuracy > 1) {
    problems.push(
      `'stop.targetAccuracy' (--target-accuracy) must be in [0, 1] (got ${raw.stop.targetAccuracy})`
    );
  }
  if (raw.consumer.ackWaitMs <= raw.snapshot.intervalMs) {
    problems.push(
      `'consumer.ackWaitMs' (--ack-wait-ms) is ${raw.consumer.ackWaitMs} but must exceed 'snapshot.intervalMs' (--snapshot-interval-ms) ${raw.snapshot.intervalMs}, or messages waiting for a snapshot are redelivered`
    );
  }
  if (raw.consumer.pullMaxBytes < 1024) {
    problems.push(
      `'consumer.pullMaxBytes' (--pull-max-bytes) must be at least 1024, and at least the server's max_payload plus 8 KiB (got ${raw.consumer.pullMaxBytes})`
    );
  }
  if ((raw.data.source === 'idx' || raw.data.source === 'cifar10') && raw.data.dir === '') {
    problems.push(`'data.dir' (--data-dir) is required when 'data.source' is ${raw.data.source}`);
  }
  checkUserPrivacy(problems, raw);
  if (raw.http.host.trim() === '') {
    problems.push(
      "'http.host' (--http-host) is empty; give an address such as 127.0.0.1 or 0.0.0.0"
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(raw);
}

/** Loads and checks the worker launcher's configuration. Throws ConfigError listing every problem. */
export function loadWorkerConfig(sources: ConfigSources = {}): WorkerConfig {
  const raw = loadRaw(workerSchema(), sources) as unknown as WorkerConfig;
  const problems: string[] = [];
  requirePositive(problems, raw.world, '--world');
  requirePositive(problems, raw.count, '--count');
  // Updates carry the rank as a uint32.
  if (raw.world > 2 ** 32) {
    problems.push(
      `--world must be at most 2^32, the number of ranks an update can name (got ${raw.world})`
    );
  }
  const ranks = Array.from({ length: Math.min(raw.count, 4096) }, (_, i) => raw.rank + i);
  checkNatsSecurity(problems, raw.nats, ranks);
  if (raw.world >= 1 && raw.count >= 1 && raw.rank + raw.count > raw.world) {
    problems.push(
      `--rank ${raw.rank} with --count ${raw.count} needs ranks ${raw.rank}..${raw.rank + raw.count - 1}, but --world ${raw.world} has ranks 0..${raw.world - 1}; ranks must satisfy rank + count <= world`
    );
  }
  requirePositive(problems, raw.training.localSteps, "'training.localSteps' (--local-steps)");
  requirePositive(problems, raw.training.batchSize, "'training.batchSize' (--batch-size)");
  requirePositive(
    problems,
    raw.partitionOptions.classesPerWorker,
    "'partitionOptions.classesPerWorker' (--classes-per-worker)"
  );
  if (raw.compression.topkFraction > 1) {
    problems.push(
      `'compression.topkFraction' (--topk-fraction) must be in (0, 1] (got ${raw.compression.topkFraction})`
    );
  }
  checkWorkerPrivacy(problems, raw.privacy);
  if (raw.claim.expireMs <= raw.claim.heartbeatMs) {
    problems.push(
      `'claim.expireMs' (--claim-expire-ms) ${raw.claim.expireMs} must exceed 'claim.heartbeatMs' (--heartbeat-ms) ${raw.claim.heartbeatMs}`
    );
  }
  if ((raw.data.source === 'idx' || raw.data.source === 'cifar10') && raw.data.dir === '') {
    problems.push(`'data.dir' (--data-dir) is required when 'data.source' is ${raw.data.source}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(raw);
}

/** Help text of the aggregator's flags. */
export function aggregatorHelp(): string {
  return helpText(aggregatorSchema());
}

/** Help text of the worker launcher's flags. */
export function workerHelp(): string {
  return helpText(workerSchema());
}
