export { ConfigError } from './errors';
export {
  loadAggregatorConfig,
  loadWorkerConfig,
  aggregatorHelp,
  workerHelp,
  helpText,
} from './load';
export type { ConfigSources } from './load';
export { aggregatorSchema, workerSchema } from './schemas';
export { checkExampleDelta } from './privacy';
export type {
  AggregatorConfig,
  WorkerConfig,
  NatsConfig,
  ModelConfig,
  DataConfig,
  PrivacyConfig,
  Backend,
  LogLevel,
} from './types';
