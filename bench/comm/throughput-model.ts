import {
  prepareUpdate,
  formatUpdateId,
  splitIntoChunks,
  type ModelSpec,
  type NamedTensor,
  type PreparedUpdate,
} from '@asyncfl/protocol';
import { msgIdHeaderBytes } from '@asyncfl/transport';

/** Publishers running at once in the publisher process, like several workers. */
export const PUBLISHERS = 4;

function randomValues(count: number, seed: number): Float32Array {
  const values = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    values[i] = (state / 2 ** 32 - 0.5) * 1e-3;
  }
  return values;
}

/** Returns the spec of a model with a 100-row kernel and a bias, `parameters` in total. */
export function modelOf(parameters: number): ModelSpec {
  const bias = 100;
  const rows = 100;
  const columns = Math.round((parameters - bias) / rows);
  return [
    { name: 'dense/kernel', shape: [rows, columns], dtype: 'float32', trainable: true },
    { name: 'dense/bias', shape: [bias], dtype: 'float32', trainable: true },
  ];
}

/** Prepares one float32 update of the throughput benchmark, as a worker does. */
export function prepareBenchUpdate(
  job: string,
  rank: number,
  seq: number,
  tensors: NamedTensor[]
): PreparedUpdate {
  return prepareUpdate({
    job,
    rank,
    workerId: `bench-${rank}`,
    incarnation: 'cafe0001',
    seq,
    baseVersion: 0,
    numExamples: 32,
    localSteps: 1,
    localLr: 0.1,
    trainLoss: 1,
    architectureHash: 'ab'.repeat(32),
    tensors,
  });
}

/** Encodes one float32 update of the throughput benchmark. */
export function encodeBenchUpdate(
  job: string,
  rank: number,
  seq: number,
  tensors: NamedTensor[]
): Uint8Array {
  return prepareBenchUpdate(job, rank, seq, tensors).toBytes();
}

/**
 * Returns the messages of one update of `parameters` parameters, split as `publishUpdate`
 * splits an update above `maxPayload` (to within the few bytes of the chunk ids).
 */
export function rawPayloads(job: string, parameters: number, maxPayload: number): Uint8Array[] {
  const sample = encodeBenchUpdate(job, 0, 1, tensorsOf(modelOf(parameters), 1));
  const id = formatUpdateId({ job, rank: 0, incarnation: 'cafe0001', seq: 1 });
  if (sample.length + msgIdHeaderBytes(id) <= maxPayload) return [sample];
  return splitIntoChunks(id, sample, maxPayload - msgIdHeaderBytes(`${id}.99`) - 128);
}

/** Returns seeded small random values for every tensor of `spec`. */
export function tensorsOf(spec: ModelSpec, seed: number): NamedTensor[] {
  return spec.map((t, i) => ({
    name: t.name,
    shape: t.shape,
    values: randomValues(
      t.shape.reduce((a, b) => a * b, 1),
      seed * 7 + i
    ),
  }));
}
