import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkDir, kustomizeDirs } from './deploy-check';
import { checkProjectRules, validateManifest, type Manifest } from './deploy-validation';

function deployment(container: Record<string, unknown> = {}): Manifest {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'aggregator', labels: { app: 'aggregator', 'any/label': 'x' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'aggregator' } },
      template: {
        metadata: { labels: { app: 'aggregator' } },
        spec: {
          containers: [
            {
              name: 'aggregator',
              image: 'asyncfl:dev',
              ports: [{ name: 'http', containerPort: 9464 }],
              envFrom: [{ configMapRef: { name: 'config' } }],
              readinessProbe: { httpGet: { path: '/readyz', port: 'http' } },
              livenessProbe: { httpGet: { path: '/healthz', port: 'http' } },
              resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '2Gi' } },
              ...container,
            },
          ],
        },
      },
    },
  };
}

function configMap(data: Record<string, string>): Manifest {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config' }, data };
}

function workers(replicas: number): Manifest {
  const manifest = deployment();
  const spec = manifest.spec as Record<string, unknown>;
  return {
    ...manifest,
    kind: 'StatefulSet',
    metadata: { name: 'worker' },
    spec: { ...spec, replicas, serviceName: 'worker' },
  };
}

test('valid deployment passes', () => {
  assert.deepEqual(validateManifest(deployment()), []);
});

test('unknown container field is rejected', () => {
  const problems = validateManifest(deployment({ imagePullPolicyy: 'Always' }));
  assert.deepEqual(problems, [
    'Deployment/aggregator: unknown field spec.template.spec.containers[0].imagePullPolicyy',
  ]);
});

test('unknown top-level and nested fields are rejected', () => {
  const manifest: Manifest = { ...deployment(), specs: {} };
  (manifest.metadata as Record<string, unknown>).lables = { a: 'b' };
  const problems = validateManifest(manifest);
  assert.ok(problems.includes('Deployment/aggregator: unknown field specs'), problems.join('\n'));
  assert.ok(
    problems.includes('Deployment/aggregator: unknown field metadata.lables'),
    problems.join('\n')
  );
  assert.equal(problems.length, 2);
});

test('unknown probe field is rejected', () => {
  const problems = validateManifest(
    deployment({ livenessProbe: { httpGet: { path: '/healthz', port: 'http', host2: 'x' } } })
  );
  assert.deepEqual(problems, [
    'Deployment/aggregator: unknown field spec.template.spec.containers[0].livenessProbe.httpGet.host2',
  ]);
});

test('wrong value type is rejected', () => {
  const manifest = deployment();
  (manifest.spec as Record<string, unknown>).replicas = 'three';
  const problems = validateManifest(manifest);
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /Deployment\/aggregator: invalid: .*replicas must be integer/);
});

test('maps accept any key', () => {
  assert.deepEqual(validateManifest(configMap({ ANY_KEY: 'x', 'other.key': 'y' })), []);
});

test('unsupported kind is rejected', () => {
  const problems = validateManifest({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } });
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /Pod\/p: no schema for apiVersion v1, kind Pod/);
});

test('world must equal worker replicas', () => {
  const ok = checkProjectRules([deployment(), workers(4), configMap({ FL_WORLD: '4' })]);
  assert.deepEqual(ok, []);
  const problems = checkProjectRules([deployment(), workers(3), configMap({ FL_WORLD: '4' })]);
  assert.deepEqual(problems, [
    'StatefulSet/worker: 3 replicas but FL_WORLD is 4; ranks are pod ordinals, so both must be equal',
  ]);
});

test('missing ConfigMap reference is rejected', () => {
  const problems = checkProjectRules([deployment(), workers(4)]);
  assert.ok(
    problems.includes('Deployment/aggregator: refers to ConfigMap config, which is not rendered'),
    problems.join('\n')
  );
});

test('probe on an unnamed port is rejected', () => {
  const problems = checkProjectRules([
    deployment({ readinessProbe: { httpGet: { path: '/readyz', port: 'metrics' } } }),
    workers(1),
    configMap({ FL_WORLD: '1' }),
  ]);
  assert.deepEqual(problems, [
    "Deployment/aggregator container aggregator: probe uses port 'metrics', which the container does not name",
  ]);
});

test('deploy overlays render and pass', () => {
  const dirs = kustomizeDirs();
  assert.ok(dirs.some((dir) => dir.endsWith('deploy/overlays/local')));
  assert.ok(dirs.some((dir) => dir.endsWith('deploy/overlays/production')));
  for (const dir of dirs) {
    const { manifests, problems } = checkDir(dir);
    assert.deepEqual(problems, [], dir);
    assert.ok(manifests.length >= 10, `${dir} rendered ${manifests.length} manifests`);
  }
});
