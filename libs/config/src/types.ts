/** NATS connection settings shared by both services. */
export interface NatsConfig {
  readonly servers: readonly string[];
  readonly replicas: number;
  readonly connectTimeoutMs: number;
  /** Empty when unset, like every optional string below. */
  readonly nkeySeedFile: string;
  readonly credsFile: string;
  readonly user: string;
  /** Secret: never log it. */
  readonly password: string;
  readonly inboxPrefix: string;
  readonly tls: { readonly caFile: string; readonly certFile: string; readonly keyFile: string };
}

/** Model architecture and initialization. */
export interface ModelConfig {
  readonly name: 'mlp' | 'lenet' | 'cifar-cnn';
  readonly hidden: readonly number[];
  readonly seed: number;
}

/** Where examples come from. */
export interface DataConfig {
  readonly source: 'mnist-package' | 'idx' | 'cifar10';
  readonly dir: string;
  readonly testSize: number;
  readonly seed: number;
}

export type Backend = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

/** Differential privacy settings; `users` exists only for user-level DP at the aggregator. */
export interface PrivacyConfig {
  readonly enabled: boolean;
  /** L2 bound C on each example's gradient (worker) or each update's delta (aggregator). */
  readonly clipNorm: number;
  /** Noise standard deviation in units of `clipNorm`. */
  readonly noiseMultiplier: number;
  readonly delta: number;
  /** 0 when epsilon is only reported. */
  readonly epsilonBudget: number;
}
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** Validated configuration of the aggregator service. */
export interface AggregatorConfig {
  readonly job: string;
  readonly nats: NatsConfig;
  readonly model: ModelConfig;
  readonly backend: Backend;
  readonly data: DataConfig;
  readonly rule: {
    readonly kind: 'fedasync' | 'fedbuff';
    readonly alpha: number;
    readonly bufferSize: number;
    readonly serverLr: number;
    readonly optimizer: 'sgd' | 'momentum' | 'adam' | 'yogi' | 'adagrad';
    readonly staleness: 'constant' | 'polynomial' | 'hinge' | 'fedbuff' | 'inverse';
    readonly stalenessA: number;
    readonly stalenessB: number;
    readonly maxStaleness: number;
    readonly exampleWeighting: 'equal' | 'linear' | 'sqrt' | 'log';
  };
  readonly snapshot: {
    readonly every: number;
    readonly intervalMs: number;
    readonly retain: number;
  };
  readonly evaluation: { readonly every: number; readonly recordWeights: string };
  readonly stop: {
    readonly targetAccuracy: number;
    readonly maxVersions: number;
    readonly timeBudgetS: number;
  };
  readonly consumer: {
    readonly ackWaitMs: number;
    readonly maxAckPending: number;
    readonly pullMaxBytes: number;
    readonly chunkTimeoutMs: number;
  };
  readonly output: { readonly report: string; readonly exportDir: string };
  readonly http: { readonly host: string; readonly port: number };
  /** User-level DP of the FedBuff rule. */
  readonly privacy: PrivacyConfig & { readonly users: number };
  readonly logLevel: LogLevel;
}

/** Validated configuration of the worker launcher; each worker gets one rank of it. */
export interface WorkerConfig {
  readonly job: string;
  readonly nats: NatsConfig;
  readonly model: ModelConfig;
  readonly backend: Backend;
  readonly data: DataConfig;
  readonly rank: number;
  readonly count: number;
  readonly world: number;
  readonly id: string;
  readonly partition: 'iid' | 'dirichlet' | 'shards';
  /** Settings of the chosen partitioner; the others are ignored. */
  readonly partitionOptions: {
    readonly concentration: number;
    readonly classesPerWorker: number;
  };
  readonly training: {
    readonly localSteps: number;
    readonly batchSize: number;
    readonly learningRate: number;
    readonly pendingWaitMs: number;
    readonly seed: number;
    /** Sleep after each local step, in milliseconds; 0 is off. */
    readonly stepDelayMs: number;
    /** Seconds after the start of training at which the worker exits; 0 is off. */
    readonly leaveAfterS: number;
  };
  readonly compression: {
    readonly kind: 'float32' | 'float16' | 'int8' | 'topk';
    readonly topkFraction: number;
    readonly errorFeedback: boolean;
  };
  readonly claim: { readonly heartbeatMs: number; readonly expireMs: number };
  /** Example-level DP-SGD. */
  readonly privacy: PrivacyConfig;
  readonly logLevel: LogLevel;
}
