export { SCHEMA_VERSION, MAX_SAFE_WIRE_INTEGER } from './schema';
export { shapeSize } from './tensors';
export type { TensorSpec, ModelSpec, TensorMap } from './tensors';
export {
  ProtocolErrorCode,
  ProtocolError,
  ProtocolDecodeError,
  InvalidFieldError,
  UnsafeIntegerError,
  InvalidManifestError,
  ChunkError,
} from './errors';
export {
  assertJobName,
  assertRank,
  formatUpdateId,
  parseUpdateId,
  newIncarnation,
  updateSubject,
  jobUpdateFilter,
  ALL_UPDATES_FILTER,
  rankFromSubject,
  latestManifestKey,
  workerClaimKey,
  snapshotObjectName,
} from './ids';
export type { UpdateIdParts } from './ids';
export {
  toSafeNumber,
  encodeTensor,
  decodeTensor,
  encodeUpdate,
  prepareUpdate,
  encodeChunk,
  decodeEnvelope,
  encodeSnapshot,
  decodeSnapshot,
} from './codec';
export type {
  TensorEncoding,
  NamedTensor,
  TensorEncodeOptions,
  UpdateMessage,
  UpdateFields,
  ChunkMessage,
  EnvelopeMessage,
  SnapshotMessage,
  SnapshotFields,
} from './codec';
export { tensorEncodeOptions, transmittedValues, UpdateCompressor } from './compression';
export type { CompressionSettings, UpdateTensor, CompressedUpdate } from './compression';
export { float32ToFloat16Bits, float16BitsToFloat32 } from './float16';
export { splitIntoChunks, Reassembler } from './chunking';
export type { PreparedUpdate } from './wire-writer';
export type { ReassemblerLimits, ChunkAddResult, AbandonedSet } from './chunking';
export { encodeManifest, decodeManifest } from './manifest';
export type {
  Manifest,
  ManifestCoverage,
  ManifestProgress,
  EvaluationMetrics,
  RejectedUpdate,
} from './manifest';
