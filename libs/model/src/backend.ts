import * as tf from '@tensorflow/tfjs';
import { BackendUnavailableError, InvalidOptionError } from './errors';
import { registerWasmGradientKernels } from './wasm-kernels';

export type BackendPreference = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

/** Backend that `initBackend` set, with the reason for the choice. */
export interface BackendSelection {
  /** tfjs backend name, as `tf.getBackend()` returns it. */
  readonly name: string;
  readonly reason: string;
}

type BackendKind = Exclude<BackendPreference, 'auto'>;

const BACKEND_PREFERENCES: readonly BackendPreference[] = ['auto', 'tensorflow', 'wasm', 'cpu'];
const AUTO_ORDER: readonly BackendKind[] = ['tensorflow', 'wasm', 'cpu'];

/** Native bindings, GPU build first. Both register a tfjs backend named 'tensorflow'. */
const TENSORFLOW_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

/** Result of a successful attempt: tfjs backend name and where it came from. */
interface Attempt {
  readonly name: string;
  readonly detail: string;
}

/** Failure of one candidate. Its message becomes part of the reason text. */
class AttemptFailure extends Error {}

let current: { preference: BackendPreference; selection: BackendSelection } | undefined;
let queue: Promise<unknown> = Promise.resolve();

/**
 * Selects, sets and verifies the tfjs backend for this process.
 *
 * 'tensorflow' loads the native bindings (`@tensorflow/tfjs-node-gpu`, then `@tensorflow/tfjs-node`)
 * when they are installed. 'auto' tries tensorflow, wasm and cpu in that order, and the returned
 * reason lists why each skipped backend was unavailable. A backend counts as available only after a
 * 2x2 matmul on it returns the exact product. Calls run one at a time, and repeating the last
 * successful preference returns its selection without reloading anything.
 *
 * @throws BackendUnavailableError when the preferred backend (or, for 'auto', every backend) fails.
 * @throws InvalidOptionError for a preference outside `BackendPreference`.
 */
export function initBackend(preference: BackendPreference): Promise<BackendSelection> {
  if (!BACKEND_PREFERENCES.includes(preference)) {
    return Promise.reject(
      new InvalidOptionError('backend preference', preference, BACKEND_PREFERENCES.join(', '))
    );
  }
  const run = queue.then(() => selectBackend(preference));
  queue = run.catch(() => undefined);
  return run;
}

async function selectBackend(preference: BackendPreference): Promise<BackendSelection> {
  if (current?.preference === preference && tf.getBackend() === current.selection.name) {
    return current.selection;
  }
  const selection =
    preference === 'auto' ? await selectFirstAvailable() : await selectExplicit(preference);
  current = { preference, selection };
  return selection;
}

async function selectExplicit(kind: BackendKind): Promise<BackendSelection> {
  try {
    const attempt = await tryBackend(kind);
    return { name: attempt.name, reason: `requested ${kind}${attempt.detail}` };
  } catch (error) {
    await restorePreviousBackend();
    throw new BackendUnavailableError(kind, describeFailure(error), { cause: error });
  }
}

async function selectFirstAvailable(): Promise<BackendSelection> {
  const skipped: string[] = [];
  for (const kind of AUTO_ORDER) {
    try {
      const attempt = await tryBackend(kind);
      const explanation =
        skipped.length === 0
          ? 'it is the first choice'
          : skipped.map((text) => `skipped ${text}`).join(', ');
      return { name: attempt.name, reason: `auto chose ${kind}${attempt.detail}: ${explanation}` };
    } catch (error) {
      skipped.push(`${kind} because ${describeFailure(error)}`);
    }
  }
  await restorePreviousBackend();
  throw new BackendUnavailableError('auto', skipped.join(', '));
}

function describeFailure(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function tryBackend(kind: BackendKind): Promise<Attempt> {
  switch (kind) {
    case 'tensorflow':
      return tryTensorflow();
    case 'wasm':
      await importBackendPackage('@tensorflow/tfjs-backend-wasm');
      // tfjs registers no filter gradient for wasm, so CNNs need the project's kernels.
      registerWasmGradientKernels();
      await setAndVerify('wasm');
      return { name: 'wasm', detail: '' };
    case 'cpu':
      await setAndVerify('cpu');
      return { name: 'cpu', detail: '' };
  }
}

async function tryTensorflow(): Promise<Attempt> {
  const failures: string[] = [];
  for (const packageName of TENSORFLOW_PACKAGES) {
    try {
      await importBackendPackage(packageName);
    } catch (error) {
      failures.push(describeFailure(error));
      continue;
    }
    // A package that loads but fails the check is reported as is: the other package would
    // register the same 'tensorflow' backend name, which tfjs does not let us replace.
    await setAndVerify('tensorflow');
    return { name: 'tensorflow', detail: ` from ${packageName}` };
  }
  throw new AttemptFailure(failures.join(' and '));
}

/**
 * Imports a package that registers a tfjs backend when loaded. The specifier is a variable so
 * that bundlers and the type checker do not require the optional native packages.
 */
async function importBackendPackage(packageName: string): Promise<void> {
  const specifier: string = packageName;
  try {
    await import(specifier);
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new AttemptFailure(`${packageName} is not installed`, { cause: error });
    }
    throw new AttemptFailure(`loading ${packageName} failed: ${describeFailure(error)}`, {
      cause: error,
    });
  }
}

async function setAndVerify(name: string): Promise<void> {
  if (tf.findBackendFactory(name) === null) {
    throw new AttemptFailure(`no tfjs backend named '${name}' is registered`);
  }
  let isSet: boolean;
  try {
    isSet = await tf.setBackend(name);
  } catch (error) {
    throw new AttemptFailure(`tf.setBackend('${name}') failed: ${describeFailure(error)}`, {
      cause: error,
    });
  }
  if (!isSet) {
    // tfjs prints the initialization error as a warning and only returns false.
    throw new AttemptFailure(`tf.setBackend('${name}') returned false (initialization failed)`);
  }
  verifyMatmul(name);
}

const CHECK_PRODUCT = [19, 22, 43, 50];

function verifyMatmul(name: string): void {
  let values: Float32Array | Int32Array | Uint8Array;
  try {
    const product = tf.tidy(() =>
      tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2]))
    );
    try {
      values = product.dataSync();
    } finally {
      product.dispose();
    }
  } catch (error) {
    throw new AttemptFailure(`a 2x2 matmul on '${name}' failed: ${describeFailure(error)}`, {
      cause: error,
    });
  }
  const matches =
    values.length === CHECK_PRODUCT.length &&
    CHECK_PRODUCT.every((expected, index) => values[index] === expected);
  if (!matches) {
    throw new AttemptFailure(
      `a 2x2 matmul on '${name}' returned [${Array.from(values).join(',')}], ` +
        `expected [${CHECK_PRODUCT.join(',')}]`
    );
  }
}

/**
 * Switches back to the last backend this module verified. A failed `tf.setBackend` leaves tfjs
 * without an active backend, and tfjs-node switches to itself as soon as it is imported.
 */
async function restorePreviousBackend(): Promise<void> {
  if (current === undefined) return;
  try {
    await tf.setBackend(current.selection.name);
  } catch {
    // The previous backend was verified before, so this is not expected to fail. If it does,
    // the caller already receives the original failure, which is the more useful error.
  }
}
