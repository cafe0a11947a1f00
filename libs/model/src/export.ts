import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ModelExportError, ModelLoadError } from './errors';

export interface ExportedModelPaths {
  readonly modelJsonPath: string;
  readonly weightsPath: string;
}

const MODEL_JSON_FILE = 'model.json';
const WEIGHTS_FILE = 'weights.bin';

/**
 * Writes the model in the TensorFlow.js layers format: `model.json` (topology and weights
 * manifest) and `weights.bin` (all weights in one shard). `tf.loadLayersModel` and the TensorFlow.js
 * converter read this format. Each file is written under a temporary name and then renamed, so a
 * reader never sees a partial file, although it may briefly see a new `weights.bin` with the old
 * `model.json`.
 *
 * @throws ModelExportError when the directory or a file cannot be written.
 */
export async function exportTfjsModel(
  model: tf.LayersModel,
  dir: string
): Promise<ExportedModelPaths> {
  const modelJsonPath = join(dir, MODEL_JSON_FILE);
  const weightsPath = join(dir, WEIGHTS_FILE);

  const handler = tf.io.withSaveHandler(async (artifacts) => {
    const weightSpecs = artifacts.weightSpecs ?? [];
    const weightData = tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? []);
    const modelJson: tf.io.ModelJSON = {
      modelTopology: artifacts.modelTopology ?? {},
      weightsManifest: [{ paths: [WEIGHTS_FILE], weights: weightSpecs }],
      format: artifacts.format ?? 'layers-model',
      generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
      convertedBy: artifacts.convertedBy ?? null,
    };
    if (artifacts.trainingConfig !== undefined) modelJson.trainingConfig = artifacts.trainingConfig;
    if (artifacts.userDefinedMetadata !== undefined) {
      modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
    }

    try {
      await mkdir(dir, { recursive: true });
      await writeFileAtomically(weightsPath, new Uint8Array(weightData));
      await writeFileAtomically(modelJsonPath, JSON.stringify(modelJson));
    } catch (error) {
      throw new ModelExportError(dir, errorMessage(error), { cause: error });
    }
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  });

  try {
    await model.save(handler);
  } catch (error) {
    if (error instanceof ModelExportError) throw error;
    throw new ModelExportError(dir, errorMessage(error), { cause: error });
  }
  return { modelJsonPath, weightsPath };
}

async function writeFileAtomically(path: string, data: Uint8Array | string): Promise<void> {
  const temporaryPath = `${path}.${process.pid}.tmp`;
  await writeFile(temporaryPath, data);
  await rename(temporaryPath, path);
}

/**
 * Loads a model written by `exportTfjsModel`, or any TensorFlow.js layers model whose weight
 * files lie in `dir`.
 *
 * @throws ModelLoadError when a file is missing, malformed, points outside `dir` or contains
 *   the wrong number of bytes, or when tfjs rejects the topology.
 */
export async function loadExportedModel(dir: string): Promise<tf.LayersModel> {
  const modelJsonPath = join(dir, MODEL_JSON_FILE);
  const modelJson = await readModelJson(modelJsonPath);

  const artifacts = await tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
    const specs = tf.io.getWeightSpecs(manifest);
    const buffers: ArrayBuffer[] = [];
    for (const group of manifest) {
      for (const path of group.paths) {
        buffers.push(await readWeightsFile(dir, path));
      }
    }
    const weightData = tf.io.CompositeArrayBuffer.join(buffers);
    validateWeightBytes(dir, specs, weightData.byteLength);
    return [specs, weightData];
  });

  try {
    return await tf.loadLayersModel({ load: async () => artifacts });
  } catch (error) {
    throw new ModelLoadError(modelJsonPath, errorMessage(error), { cause: error });
  }
}

async function readModelJson(path: string): Promise<tf.io.ModelJSON> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ModelLoadError(path, errorMessage(error), { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ModelLoadError(path, `invalid JSON: ${errorMessage(error)}`, { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null) {
    throw new ModelLoadError(path, 'expected a JSON object');
  }
  const candidate = parsed as Partial<tf.io.ModelJSON>;
  if (typeof candidate.modelTopology !== 'object' || candidate.modelTopology === null) {
    throw new ModelLoadError(path, 'modelTopology is missing');
  }
  if (!isWeightsManifest(candidate.weightsManifest)) {
    throw new ModelLoadError(path, 'weightsManifest is missing or malformed');
  }
  return candidate as tf.io.ModelJSON;
}

function isWeightsManifest(value: unknown): value is tf.io.WeightsManifestConfig {
  return Array.isArray(value) && value.every(isWeightsGroup);
}

function isWeightsGroup(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const group = value as Partial<tf.io.WeightsManifestConfig[number]>;
  return (
    Array.isArray(group.paths) &&
    group.paths.every((path: unknown) => typeof path === 'string') &&
    Array.isArray(group.weights)
  );
}

/** Reads one weights shard, rejecting paths that would leave the model directory. */
async function readWeightsFile(dir: string, manifestPath: string): Promise<ArrayBuffer> {
  const root = resolve(dir);
  const path = resolve(root, manifestPath);
  const pathFromRoot = relative(root, path);
  if (pathFromRoot === '' || pathFromRoot.startsWith('..') || isAbsolute(pathFromRoot)) {
    throw new ModelLoadError(
      join(dir, MODEL_JSON_FILE),
      `weights path '${manifestPath}' is outside the model directory`
    );
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new ModelLoadError(path, errorMessage(error), { cause: error });
  }
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** Bytes per element for unquantized dtypes whose size is fixed. */
const DTYPE_BYTES: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1 };
const QUANTIZED_BYTES: Readonly<Record<string, number>> = { uint8: 1, uint16: 2, float16: 2 };

/**
 * Checks the total size of the weight shards against the manifest. tfjs would otherwise read
 * past the end or silently ignore extra bytes. Manifests with string tensors are not checked,
 * because their size is not fixed by the shape.
 */
function validateWeightBytes(
  dir: string,
  specs: readonly tf.io.WeightsManifestEntry[],
  actualBytes: number
): void {
  let expectedBytes = 0;
  for (const spec of specs) {
    const elementBytes =
      spec.quantization !== undefined
        ? QUANTIZED_BYTES[spec.quantization.dtype]
        : DTYPE_BYTES[spec.dtype];
    if (elementBytes === undefined) return;
    expectedBytes += spec.shape.reduce((size, dim) => size * dim, 1) * elementBytes;
  }
  if (actualBytes !== expectedBytes) {
    throw new ModelLoadError(
      dir,
      `weight files hold ${actualBytes} bytes, the manifest describes ${expectedBytes}`
    );
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
