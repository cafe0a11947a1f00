// Generates the NATS credentials of one job: a user NKey per identity (aggregator, operator,
// worker-0 .. worker-N-1), the nats-server authorization block that admits exactly those keys
// with least-privilege subject permissions, and Kubernetes manifests that carry them.
//
//   npm run credentials -- --world 8 --job mnist --out deploy/secure/generated
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generateJobCredentials, type IdentityCredential } from '@asyncfl/transport';

const USAGE = `Usage: npm run credentials -- --world N --job NAME --out DIR [options]

  --world N          workers in the job; identities worker-0 .. worker-N-1 are created
  --job NAME         job name; subjects, keys and the consumer in the permissions use it
  --out DIR          output folder; created if missing
  --namespace NAME   Kubernetes namespace of the manifests (default asyncfl)
  --force            replace credentials already in DIR; running clients lose access
  --help             show this text

Writes DIR/nats-auth.conf (public keys and permissions, for nats-server's "include"),
DIR/nkeys/<identity>.nk (one NKey seed each, mode 0600: these are the secrets),
DIR/kubernetes/secrets.yaml and DIR/kubernetes/nats-auth-configmap.yaml.`;

function fail(message: string): never {
  console.error(`credentials: ${message}`);
  process.exit(2);
}

let values;
try {
  values = parseArgs({
    options: {
      world: { type: 'string' },
      job: { type: 'string' },
      out: { type: 'string' },
      namespace: { type: 'string', default: 'asyncfl' },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  }).values;
} catch (err) {
  fail(`${(err as Error).message}\n\n${USAGE}`);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (values.world === undefined || values.job === undefined || values.out === undefined) {
  fail(`--world, --job and --out are required\n\n${USAGE}`);
}
const world = Number(values.world);
if (!Number.isSafeInteger(world) || world < 1 || world > 100_000) {
  fail(`--world must be an integer from 1 to 100000 (got ${values.world})`);
}
const job = values.job;
if (!/^[A-Za-z0-9_-]{1,64}$/.test(job)) {
  fail(`--job must be 1 to 64 letters, digits, '_' or '-' (got ${JSON.stringify(job)})`);
}
const namespace = values.namespace!;
if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) {
  fail(`--namespace must be a Kubernetes namespace name (got ${JSON.stringify(namespace)})`);
}

const out = resolve(values.out);
const nkeyDir = join(out, 'nkeys');
const kubeDir = join(out, 'kubernetes');
if (existsSync(join(nkeyDir, 'aggregator.nk')) && !values.force) {
  fail(
    `${nkeyDir} already holds credentials; pass --force to replace them (clients using the old ones can no longer connect)`
  );
}

/** Name of the Kubernetes Secret holding one identity's seed. */
function secretName(identity: string): string {
  return `asyncfl-nats-${identity}`;
}

function base64(text: string): string {
  return Buffer.from(text).toString('base64');
}

function secretManifest(name: string, files: Record<string, string>, comment: string): string {
  const data = Object.entries(files)
    .map(([key, value]) => `  ${key}: ${base64(value)}`)
    .join('\n');
  return [
    `# ${comment}`,
    'apiVersion: v1',
    'kind: Secret',
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${namespace}`,
    '  labels:',
    '    app.kubernetes.io/part-of: asyncfl',
    `    asyncfl/job: ${job}`,
    'type: Opaque',
    'data:',
    data,
  ].join('\n');
}

function renderSecrets(credentials: readonly IdentityCredential[]): string {
  const perIdentity = credentials.map(({ identity, seed }) =>
    secretManifest(
      secretName(identity.name),
      { nkey: `${seed}\n` },
      `NKey seed of identity ${identity.name} of job ${job}.`
    )
  );
  const workers = credentials.filter(({ identity }) => identity.role === 'worker');
  const combined = secretManifest(
    secretName('workers'),
    Object.fromEntries(workers.map(({ identity, seed }) => [`${identity.name}.nk`, `${seed}\n`])),
    `Every worker seed of job ${job}, for a StatefulSet whose pods pick theirs by ordinal. ` +
      'A pod that mounts it can read every rank’s seed; mount the per-identity Secrets instead where ranks must not trust each other.'
  );
  return `${[...perIdentity, combined].join('\n---\n')}\n`;
}

function renderAuthConfigMap(authorizationConfig: string): string {
  const indented = authorizationConfig
    .trimEnd()
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
  return [
    `# nats-server authorization of job ${job}: public keys and permissions, no secrets.`,
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: nats-auth',
    `  namespace: ${namespace}`,
    'data:',
    '  auth.conf: |',
    indented,
    '',
  ].join('\n');
}

const generated = generateJobCredentials(job, world);
mkdirSync(out, { recursive: true });
mkdirSync(nkeyDir, { recursive: true, mode: 0o700 });
chmodSync(nkeyDir, 0o700);
mkdirSync(kubeDir, { recursive: true });

const header = `# nats-server authorization of job '${job}' with ${world} workers, generated by npm run credentials.\n# It lists public NKeys only; the seeds are in nkeys/.\n`;
writeFileSync(join(out, 'nats-auth.conf'), header + generated.authorizationConfig);
for (const { identity, seed } of generated.credentials) {
  const path = join(nkeyDir, `${identity.name}.nk`);
  writeFileSync(path, `${seed}\n`, { mode: 0o600 });
  // writeFileSync keeps the mode of a file that already exists.
  chmodSync(path, 0o600);
}
const secretsPath = join(kubeDir, 'secrets.yaml');
writeFileSync(secretsPath, renderSecrets(generated.credentials), { mode: 0o600 });
chmodSync(secretsPath, 0o600);
writeFileSync(
  join(kubeDir, 'nats-auth-configmap.yaml'),
  renderAuthConfigMap(generated.authorizationConfig)
);

console.log(`credentials of job '${job}' for ${generated.credentials.length} identities:`);
for (const { identity, publicKey } of generated.credentials) {
  console.log(`  ${identity.name.padEnd(12)} ${publicKey}`);
}
console.log(`server authorization  ${join(out, 'nats-auth.conf')}`);
console.log(`NKey seeds (secret)   ${nkeyDir}/<identity>.nk`);
console.log(
  `Kubernetes            ${secretsPath} (secret), ${join(kubeDir, 'nats-auth-configmap.yaml')}`
);
