/**
 * Measures updates per second of each aggregation rule through `submit` (admission, weighting,
 * apply or buffer, and the FedBuff optimizer step amortised over K), next to a plain
 * `w[i] -= c * d[i]` loop over the same number of parameters in the same process.
 *
 *   node --expose-gc --import tsx libs/aggregation/bench/aggregation.bench.ts [--quick]
 *
 * Prints a markdown table. With --expose-gc it also reports heap growth over 10,000 updates
 * after warm-up at 100k parameters. --quick shortens every timing, for a smoke run.
 */
import type { ModelSpec, TensorMap } from '@asyncfl/protocol';
import type { RuleConfig } from '../src/config';
import { createRule } from '../src/create-rule';
import type { AggregationRule, UpdateInput } from '../src/types';

const QUICK = process.argv.includes('--quick');
/** Measured seconds per case and size, split into ROUNDS alternating runs of loop and rule. */
const MIN_SECONDS = QUICK ? 0.4 : 4;
const ROUNDS = QUICK ? 2 : 8;
const WARMUP_UPDATES = QUICK ? 20 : 200;
const HEAP_UPDATES = 10_000;
const BUFFER_SIZE = 10;
const DELTA_POOL = 8;
const SIZES = [100_000, 1_000_000];

interface Case {
  readonly name: string;
  readonly config: RuleConfig;
}

const constant = { kind: 'constant' } as const;
const CASES: readonly Case[] = [
  {
    name: 'FedAsync delta',
    config: {
      kind: 'fedasync',
      alpha: 0.6,
      staleness: { kind: 'polynomial', a: 0.5 },
      maxStaleness: 8,
    },
  },
  {
    name: 'FedAsync mixing (window 4)',
    config: {
      kind: 'fedasync',
      alpha: 0.6,
      form: 'mixing',
      window: 4,
      staleness: { kind: 'polynomial', a: 0.5 },
      maxStaleness: 3,
    },
  },
  {
    name: 'async SGD',
    config: { kind: 'asyncsgd', lr: 0.01, staleness: constant, maxStaleness: 8 },
  },
  ...(['sgd', 'momentum', 'adam', 'yogi', 'adagrad'] as const).map((kind) => ({
    name: `FedBuff K=${BUFFER_SIZE} ${kind}`,
    config: {
      kind: 'fedbuff',
      bufferSize: BUFFER_SIZE,
      serverLr: 0.01,
      optimizer: { kind },
      staleness: { kind: 'fedbuff' },
      maxStaleness: 8,
    } as const,
  })),
  {
    name: `FedBuff K=${BUFFER_SIZE} adam + clip`,
    config: {
      kind: 'fedbuff',
      bufferSize: BUFFER_SIZE,
      serverLr: 0.01,
      optimizer: { kind: 'adam' },
      clip: { maxNorm: 1 },
      staleness: { kind: 'fedbuff' },
      maxStaleness: 8,
    },
  },
  {
    name: `FedBuff K=${BUFFER_SIZE} adam + median`,
    config: {
      kind: 'fedbuff',
      bufferSize: BUFFER_SIZE,
      serverLr: 0.01,
      optimizer: { kind: 'adam' },
      aggregator: { kind: 'median' },
      staleness: { kind: 'fedbuff' },
      maxStaleness: 8,
    },
  },
];

/** Returns a spec that splits `parameters` over two dense layers and a non-trainable tensor. */
function makeSpec(parameters: number): ModelSpec {
  const stats = 64;
  const bias = 256;
  const first = Math.floor((parameters - stats - bias) * 0.7);
  const second = parameters - stats - bias - first;
  return [
    { name: 'dense1/kernel', shape: [first], dtype: 'float32', trainable: true },
    { name: 'dense1/bias', shape: [bias], dtype: 'float32', trainable: true },
    { name: 'dense2/kernel', shape: [second], dtype: 'float32', trainable: true },
    { name: 'bn/moving_mean', shape: [stats], dtype: 'float32', trainable: false },
  ];
}

/** Returns deterministic pseudo-random values in [-scale, scale). */
function randomValues(size: number, seed: number, scale: number): Float32Array {
  const values = new Float32Array(size);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    values[i] = ((state >>> 0) / 2 ** 32 - 0.5) * 2 * scale;
  }
  return values;
}

function makeTensors(spec: ModelSpec, seed: number, scale: number): TensorMap {
  const map: TensorMap = new Map();
  spec.forEach((tensor, index) => {
    const size = tensor.shape.reduce((product, dim) => product * dim, 1);
    map.set(tensor.name, randomValues(size, seed * 31 + index, scale));
  });
  return map;
}

/** Submits one update trained from the current version or one version earlier. */
function submitOne(rule: AggregationRule, pool: readonly TensorMap[], counter: number): void {
  const lag = counter % 2;
  const input: UpdateInput = {
    id: `u${counter}`,
    rank: counter % 16,
    baseVersion: Math.max(0, rule.version - lag),
    numExamples: 32,
    tensors: pool[counter % pool.length] as TensorMap,
  };
  rule.submit(input);
}

/** Work counted in units (updates or loop passes) over measured seconds. */
interface Sample {
  units: number;
  seconds: number;
}

/** Runs a case's rule for at least `seconds`, in whole buffers, continuing its state. */
class RuleRunner {
  private readonly rule: AggregationRule;
  private counter = 0;

  constructor(
    config: RuleConfig,
    spec: ModelSpec,
    private readonly pool: readonly TensorMap[]
  ) {
    this.rule = createRule(config, spec, makeTensors(spec, 1, 0.1));
    while (this.counter < WARMUP_UPDATES) submitOne(this.rule, this.pool, this.counter++);
  }

  run(seconds: number): Sample {
    const start = process.hrtime.bigint();
    let units = 0;
    let elapsed = 0;
    while (elapsed < seconds || units % BUFFER_SIZE !== 0) {
      submitOne(this.rule, this.pool, this.counter++);
      units++;
      if (units % BUFFER_SIZE === 0) elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    }
    return { units, seconds: elapsed };
  }
}

/** Subtracts c * delta from the weights. Each rule's rate is compared with this loop's. */
function plainStep(weights: Float32Array, delta: Float32Array, c: number): void {
  for (let i = 0; i < weights.length; i++) {
    weights[i] = (weights[i] as number) - c * (delta[i] as number);
  }
}

/** Runs the plain loop over the same parameter count for at least `seconds`. */
class LoopRunner {
  private readonly weights: Float32Array;
  private readonly deltas: Float32Array[];
  private passes = 0;

  constructor(parameters: number) {
    this.weights = randomValues(parameters, 7, 0.1);
    this.deltas = [randomValues(parameters, 8, 1e-3), randomValues(parameters, 9, 1e-3)];
    for (let i = 0; i < WARMUP_UPDATES; i++) this.step();
  }

  run(seconds: number): Sample {
    const start = process.hrtime.bigint();
    let units = 0;
    let elapsed = 0;
    while (elapsed < seconds) {
      this.step();
      units++;
      elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    }
    return { units, seconds: elapsed };
  }

  private step(): void {
    // Alternating signs keep the weights bounded over many passes.
    const c = this.passes % 4 < 2 ? 0.5 : -0.5;
    plainStep(this.weights, this.deltas[this.passes % 2] as Float32Array, c);
    this.passes++;
  }
}

/**
 * Alternates short runs of the loop and the rule, so that load from other processes affects both
 * alike, and returns the total rates and the median of the per-round rate ratios.
 */
function compare(loop: LoopRunner, rule: RuleRunner) {
  const ratios: number[] = [];
  let loopTotal = { units: 0, seconds: 0 };
  let ruleTotal = { units: 0, seconds: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    const loopSample = loop.run(MIN_SECONDS / ROUNDS);
    const ruleSample = rule.run(MIN_SECONDS / ROUNDS);
    ratios.push(ruleSample.units / ruleSample.seconds / (loopSample.units / loopSample.seconds));
    loopTotal = add(loopTotal, loopSample);
    ruleTotal = add(ruleTotal, ruleSample);
  }
  ratios.sort((a, b) => a - b);
  return {
    loopRate: loopTotal.units / loopTotal.seconds,
    ruleRate: ruleTotal.units / ruleTotal.seconds,
    ratio: ratios[ratios.length >> 1] as number,
  };
}

function add(total: Sample, sample: Sample): Sample {
  return { units: total.units + sample.units, seconds: total.seconds + sample.seconds };
}

/** Returns heap growth in bytes over HEAP_UPDATES updates after warm-up, or undefined. */
function measureHeapGrowth(config: RuleConfig, spec: ModelSpec, pool: readonly TensorMap[]) {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) return undefined;
  const rule = createRule(config, spec, makeTensors(spec, 1, 0.1));
  let counter = 0;
  for (; counter < WARMUP_UPDATES; counter++) submitOne(rule, pool, counter);
  collect();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < HEAP_UPDATES; i++) submitOne(rule, pool, counter++);
  collect();
  return process.memoryUsage().heapUsed - before;
}

function formatRate(rate: number): string {
  return rate >= 100 ? Math.round(rate).toLocaleString('en-US') : rate.toFixed(1);
}

function main(): void {
  const rows: string[] = [
    '| rule | parameters | updates/s | loop passes/s | median ratio to loop | heap growth over 10k updates |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const parameters of SIZES) {
    const spec = makeSpec(parameters);
    const pool = Array.from({ length: DELTA_POOL }, (_, i) => makeTensors(spec, 100 + i, 1e-3));
    const loop = new LoopRunner(parameters);
    for (const { name, config } of CASES) {
      const { loopRate, ruleRate, ratio } = compare(loop, new RuleRunner(config, spec, pool));
      const growth =
        parameters === SIZES[0] && !QUICK ? measureHeapGrowth(config, spec, pool) : undefined;
      const growthText = growth === undefined ? '' : `${(growth / 1024).toFixed(0)} KiB`;
      const rates = `${formatRate(ruleRate)} | ${formatRate(loopRate)}`;
      rows.push(`| ${name} | ${parameters} | ${rates} | ${ratio.toFixed(2)} | ${growthText} |`);
    }
  }
  console.log(rows.join('\n'));
  if ((globalThis as { gc?: () => void }).gc === undefined) {
    console.log('\nRun with --expose-gc to measure heap growth.');
  }
}

main();
