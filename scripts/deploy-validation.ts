// Offline validation of rendered Kubernetes manifests: the schemas of kubernetes-models 4.x
// (generated from the Kubernetes OpenAPI definitions), a strict check for fields the schemas
// do not define, and project rules such as "worker replicas equal FL_WORLD".
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';

/** A parsed manifest: any JSON object with apiVersion, kind and metadata.name. */
export type Manifest = Record<string, unknown>;

/**
 * The kinds this project deploys, by `apiVersion/kind`. A manifest of any other kind is
 * rejected, so a new kind must be added here, which brings it under validation.
 */
const MODELS: Record<string, { prototype: { validate(): void } }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

/** Returns `Kind/name` for messages. */
export function describeManifest(manifest: Manifest): string {
  const metadata = manifest.metadata as { name?: unknown } | undefined;
  return `${String(manifest.kind)}/${String(metadata?.name ?? '?')}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Wraps a JSON value in proxies that record which properties are read. The generated
 * validators read every property their schema defines (`data.spec`, even when absent) and
 * enumerate the keys only of maps such as labels or ConfigMap data. A key that no
 * validator read is therefore unknown to the schema.
 */
function trackReads(root: unknown): { proxy: unknown; unknownFields: () => string[] } {
  const reads = new Map<object, Set<PropertyKey> | 'all'>();
  const proxies = new WeakMap<object, object>();
  const mark = (target: object, key: PropertyKey) => {
    const seen = reads.get(target);
    if (seen === 'all') return;
    if (seen) seen.add(key);
    else reads.set(target, new Set([key]));
  };
  const wrap = (value: unknown): unknown => {
    if (value === null || typeof value !== 'object') return value;
    const existing = proxies.get(value);
    if (existing) return existing;
    const proxy = new Proxy(value, {
      get(target, key, receiver) {
        mark(target, key);
        return wrap(Reflect.get(target, key, receiver));
      },
      has(target, key) {
        mark(target, key);
        return Reflect.has(target, key);
      },
      ownKeys(target) {
        reads.set(target, 'all');
        return Reflect.ownKeys(target);
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };

  const unknownFields = (): string[] => {
    const found: string[] = [];
    const walk = (value: unknown, path: string) => {
      if (Array.isArray(value)) {
        value.forEach((item, i) => walk(item, `${path}[${i}]`));
        return;
      }
      if (!isObject(value)) return;
      const seen = reads.get(value);
      for (const [key, child] of Object.entries(value)) {
        const childPath = path ? `${path}.${key}` : key;
        if (seen === 'all' || seen?.has(key)) walk(child, childPath);
        else found.push(childPath);
      }
    };
    walk(root, '');
    return found;
  };
  return { proxy: wrap(root), unknownFields };
}

/** Validates one manifest against its Kubernetes schema and rejects unknown fields. */
export function validateManifest(manifest: Manifest): string[] {
  const name = describeManifest(manifest);
  const model = MODELS[`${String(manifest.apiVersion)}/${String(manifest.kind)}`];
  if (model === undefined) {
    return [
      `${name}: no schema for apiVersion ${String(manifest.apiVersion)}, kind ${String(manifest.kind)}; add the kind to MODELS in scripts/deploy-validation.ts`,
    ];
  }
  const tracked = trackReads(manifest);
  const problems: string[] = [];
  try {
    // The prototype method validates `this`; calling it on the proxy records every read.
    model.prototype.validate.call(tracked.proxy);
  } catch (err) {
    problems.push(`${name}: invalid: ${err instanceof Error ? err.message : String(err)}`);
  }
  for (const field of tracked.unknownFields()) {
    problems.push(`${name}: unknown field ${field}`);
  }
  return problems;
}

interface Container {
  name?: string;
  ports?: { name?: string; containerPort?: number }[];
  envFrom?: { configMapRef?: { name?: string }; secretRef?: { name?: string } }[];
  readinessProbe?: { httpGet?: { port?: string | number } };
  livenessProbe?: { httpGet?: { port?: string | number } };
  startupProbe?: { httpGet?: { port?: string | number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

interface PodSpec {
  containers?: Container[];
  volumes?: { configMap?: { name?: string }; secret?: { secretName?: string } }[];
}

function podSpecOf(manifest: Manifest): PodSpec | undefined {
  const spec = manifest.spec as { template?: { spec?: PodSpec } } | undefined;
  return spec?.template?.spec;
}

function find(manifests: readonly Manifest[], kind: string, name: string): Manifest | undefined {
  return manifests.find(
    (m) => m.kind === kind && (m.metadata as { name?: string } | undefined)?.name === name
  );
}

/** Checks that every ConfigMap and Secret a pod template names is part of the render. */
function checkReferences(manifests: readonly Manifest[]): string[] {
  const problems: string[] = [];
  for (const manifest of manifests) {
    const pod = podSpecOf(manifest);
    if (!pod) continue;
    const refs: [string, string | undefined][] = [];
    for (const container of pod.containers ?? []) {
      for (const source of container.envFrom ?? []) {
        if (source.configMapRef) refs.push(['ConfigMap', source.configMapRef.name]);
        if (source.secretRef) refs.push(['Secret', source.secretRef.name]);
      }
    }
    for (const volume of pod.volumes ?? []) {
      if (volume.configMap) refs.push(['ConfigMap', volume.configMap.name]);
      if (volume.secret) refs.push(['Secret', volume.secret.secretName]);
    }
    for (const [kind, name] of refs) {
      if (name === undefined || !find(manifests, kind, name)) {
        problems.push(
          `${describeManifest(manifest)}: refers to ${kind} ${name}, which is not rendered`
        );
      }
    }
  }
  return problems;
}

/** Checks probes, named probe ports and resource settings of every container. */
function checkContainers(manifests: readonly Manifest[]): string[] {
  const problems: string[] = [];
  for (const manifest of manifests) {
    const pod = podSpecOf(manifest);
    if (!pod) continue;
    const name = describeManifest(manifest);
    for (const container of pod.containers ?? []) {
      const where = `${name} container ${container.name}`;
      if (!container.resources?.requests?.cpu || !container.resources.requests.memory) {
        problems.push(`${where}: resources.requests needs cpu and memory`);
      }
      if (!container.resources?.limits?.memory) {
        problems.push(`${where}: resources.limits needs memory`);
      }
      const portNames = new Set((container.ports ?? []).map((p) => p.name));
      for (const probe of [
        container.readinessProbe,
        container.livenessProbe,
        container.startupProbe,
      ]) {
        const port = probe?.httpGet?.port;
        if (typeof port === 'string' && !portNames.has(port)) {
          problems.push(`${where}: probe uses port '${port}', which the container does not name`);
        }
      }
    }
  }
  const aggregator = find(manifests, 'Deployment', 'aggregator');
  for (const container of (aggregator && podSpecOf(aggregator)?.containers) ?? []) {
    if (!container.readinessProbe) problems.push(`Deployment/aggregator: no readinessProbe`);
    if (!container.livenessProbe) problems.push(`Deployment/aggregator: no livenessProbe`);
  }
  return problems;
}

/** Checks that the worker StatefulSet has exactly FL_WORLD replicas, one per rank. */
function checkWorld(manifests: readonly Manifest[]): string[] {
  const workers = find(manifests, 'StatefulSet', 'worker');
  if (!workers) return ['StatefulSet/worker is missing'];
  const replicas = (workers.spec as { replicas?: number }).replicas ?? 1;
  const configName = podSpecOf(workers)
    ?.containers?.flatMap((c) => c.envFrom ?? [])
    .find((source) => source.configMapRef)?.configMapRef?.name;
  const config = configName === undefined ? undefined : find(manifests, 'ConfigMap', configName);
  const world = (config?.data as Record<string, string> | undefined)?.FL_WORLD;
  if (world === undefined) return ['StatefulSet/worker: its ConfigMap sets no FL_WORLD'];
  if (Number(world) !== replicas) {
    return [
      `StatefulSet/worker: ${replicas} replicas but FL_WORLD is ${world}; ranks are pod ordinals, so both must be equal`,
    ];
  }
  return [];
}

/** Applies the project's rules to one rendered overlay. */
export function checkProjectRules(manifests: readonly Manifest[]): string[] {
  return [...checkReferences(manifests), ...checkContainers(manifests), ...checkWorld(manifests)];
}
