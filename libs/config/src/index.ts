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
export type {
  AggregatorConfig,
  WorkerConfig,
  NatsConfig,
  ModelConfig,
  DataConfig,
  Backend,
  LogLevel,
} from './types';
