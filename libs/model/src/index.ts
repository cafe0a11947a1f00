export { initBackend } from './backend';
export { checkTrainable } from './capability';
export type { BackendPreference, BackendSelection } from './backend';
export {
  BackendUnavailableError,
  DuplicateWeightNameError,
  InvalidBatchError,
  InvalidOptionError,
  KernelUnavailableError,
  LabelOutOfRangeError,
  ModelError,
  ModelExportError,
  ModelLoadError,
  ShapeMismatchError,
  UnknownModelError,
  UnsupportedDtypeError,
  UnsupportedModelError,
  WeightMissingError,
  WeightUnknownError,
} from './errors';
export { evaluate } from './evaluate';
export { countTrainingFlops } from './flops';
export type { LayerFlops, TrainingFlops } from './flops';
export type { EvaluateOptions, EvaluationResult } from './evaluate';
export { exportTfjsModel, loadExportedModel } from './export';
export type { ExportedModelPaths } from './export';
export {
  createModel,
  MLP_CLASS_COUNT,
  MLP_DEFAULT_HIDDEN,
  MLP_INPUT_SIZE,
  MODEL_NAMES,
} from './models';
export type { ModelName, ModelOptions } from './models';
export { LocalTrainer } from './train';
export { DpSgdTrainer } from './dp-train';
export type { DpTrainerOptions } from './dp-train';
export type { PerExampleMethod } from './per-example';
export type { Batch, TrainerOptions, TrainStepsResult } from './train';
export { architectureHash, getWeights, modelSpec, setWeights } from './weights';
export { readWeightsRecord, WeightsRecorder } from './weights-record';
export type { RecordedVersion, WeightsRecordContents } from './weights-record';
export { registerWasmGradientKernels, WASM_GRADIENT_KERNELS } from './wasm-kernels';
