export { createRule, type RuleDependencies } from './create-rule';
export {
  BUFFER_AGGREGATORS,
  OPTIMIZER_KINDS,
  RULE_KINDS,
  validateRuleConfig,
  type AsyncSgdConfig,
  type BufferAggregatorConfig,
  type BufferNoiseConfig,
  type ClipConfig,
  type FedAsyncConfig,
  type FedBuffConfig,
  type NormOutlierConfig,
  type OptimizerConfig,
  type OptimizerKind,
  type RankShareConfig,
  type ResolvedOptimizerConfig,
  type ResolvedRuleConfig,
  type RuleConfig,
  type RuleKind,
} from './config';
export {
  AGGREGATION_ERROR_CODES,
  AggregationError,
  InvalidArgumentError,
  InvalidModelError,
  InvalidOptionError,
  InvalidStateError,
  UpdateRejectedError,
  type AggregationErrorCode,
} from './errors';
export { REJECT_REASONS, type RejectReason } from './reasons';
export {
  STALENESS_KINDS,
  describeStaleness,
  makeStaleness,
  stalenessConfigs,
  validateStalenessConfig,
  type StalenessConfig,
  type StalenessFunction,
  type StalenessKind,
} from './staleness';
export type { AggregationState } from './state';
export type { Admission, AggregationRule, SubmitResult, UpdateInput } from './types';
export {
  EXAMPLE_WEIGHTINGS,
  exampleFactor,
  exampleScore,
  type ExampleWeighting,
} from './weighting';
