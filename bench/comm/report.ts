// Markdown of the comm-bench section of docs/benchmarks.md, rendered from docs/bench/comm.json.
import type { CommResults, PartRun, TtaSettings } from './main';
import type { RunResult } from './runs';

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '–');

function describeRun(run: PartRun): string {
  const at = run.measuredAt.slice(0, 16).replace('T', ' ');
  return `Measured ${at} UTC by \`${run.command}\`, one-minute load average ${fixed(run.loadBefore)} before and ${fixed(run.loadAfter)} after.`;
}

function describeWorkload(settings: TtaSettings): string {
  const slow = settings.slowRanks.join(' and ');
  const normal = settings.world - settings.slowRanks.length;
  const common = [
    `${settings.world} workers train the MLP 784-128-10 on the mnist-package digits (IID shards of`,
    `1,000 examples), ${settings.localSteps} local SGD steps of 32 examples per update (one pass over`,
    `the shard), learning rate 0.1. One step took ${fixed(settings.measuredStepMs)} ms with ${normal}`,
    'workers training at once, measured at the start.',
  ];
  const delays =
    settings.normalStepDelayMs > 0
      ? [
          `Every worker sleeps ${settings.normalStepDelayMs} ms after each local step, standing for`,
          'compute on a device of its own, so that the shared CPUs of this machine no longer decide',
          `the pace. Ranks ${slow} sleep ${settings.stepDelayMs} ms instead, so their steps take`,
          'about 4x as long.',
        ]
      : [
          `Ranks ${slow} sleep ${settings.stepDelayMs} ms after each local step, three times the`,
          'measured step, so their steps take about 4x as long.',
        ];
  return [
    ...common,
    ...delays,
    `Rank ${settings.leaveRank} exits ${settings.leaveAfterS} s after its first local step`,
    '(`--leave-after-s`).',
  ].join(' ');
}

/** Returns one bullet per asynchronous configuration. */
function describeAsyncSystems(settings: TtaSettings): string[] {
  return settings.asyncSystems.map(
    ({ system, args, description }) =>
      `  - **${system}**${args.length > 0 ? ` (\`${args.join(' ')}\`)` : ''}: ${description}.`
  );
}

function ttaSection(
  tta: CommResults['tta'],
  title: string,
  chart: string,
  describeSystems: boolean
): string[] {
  if (!tta) return [];
  const { settings, runs } = tta;
  const systems = [...new Set(runs.map((r) => r.system))];
  const seeds = [...new Set(runs.map((r) => r.seed))].sort((a, b) => a - b);
  const medianOf = (system: string) =>
    median(
      runs
        .filter((r) => r.system === system)
        .map((r) => r.timeToTargetS ?? Number.POSITIVE_INFINITY)
    );
  const baseline = medianOf('sync-fedavg');
  const rows = systems.map((system) => {
    const cells = seeds.map((seed) => {
      const run = runs.find((r) => r.system === system && r.seed === seed);
      return run?.timeToTargetS == null ? 'not reached' : fixed(run.timeToTargetS);
    });
    const value = medianOf(system);
    const ratio = system === 'sync-fedavg' ? '1.0' : fixed(baseline / value, 2);
    return `| ${system} | ${cells.join(' | ')} | ${fixed(value)} | ${ratio} |`;
  });
  const asyncRuns = runs.filter((r) => r.appliedByRank);
  const slowShare = asyncRuns.map((r) => {
    const counts = r.appliedByRank!;
    const fast = Object.entries(counts)
      .filter(
        ([rank]) =>
          !settings.slowRanks.includes(Number(rank)) && Number(rank) !== settings.leaveRank
      )
      .map(([, n]) => n);
    const slow = settings.slowRanks.map((rank) => counts[String(rank)] ?? 0);
    return median(slow) / Math.max(1, median(fast));
  });
  const syncRuns = runs.filter((r) => r.system === 'sync-fedavg');
  const best = systems
    .filter((s) => s !== 'sync-fedavg')
    .reduce((a, b) => (medianOf(a) <= medianOf(b) ? a : b), systems[0]!);
  return [
    `### ${title}`,
    '',
    describeRun(tta.measured),
    '',
    describeWorkload(settings),
    '',
    ...(describeSystems
      ? [
          '- The asynchronous systems run as the real aggregator and worker processes over',
          '  JetStream:',
          ...describeAsyncSystems(settings),
          '- **sync-fedavg** is `bench/sync-fedavg.ts`: a coordinator and 8 worker processes over',
          '  core NATS (no persistence) with the same model, shards, seeds and delays. Each round it',
          '  sends the weights to every worker and waits for all live workers, but closes the round',
          '  once the missing ones are later than 2x the median answer time of those that answered.',
          '  Late answers are discarded. A worker that leaves says so, and the coordinator stops',
          '  waiting for it.',
          '- Accuracy is measured after each run. The aggregator and the coordinator write every',
          '  version of the model with the time it was made (`--record-weights`, a synchronous file',
          '  write of 400 KB per version), and the bench evaluates each one on the 2,000 held-out',
          '  digits once the run is over. The reported time is that of the first version at or above',
          '  the target, counted from the first update on the wire. So no evaluation takes CPU from',
          '  the workers during a run, and no version is seen late because evaluations skip some.',
          `  The baseline stops ${settings.baselineStopAfterS} s after its first update, and the asynchronous runs 1.5x the`,
          "  baseline's time to the target for the same seed after theirs. Every worker warms",
          '  up its training kernels at start. In the asynchronous runs the workers start first and',
          '  the aggregator once all 8 have claimed their ranks, so that they begin training together',
          '  on its first snapshot, as the baseline begins its first round once all 8 said hello.',
        ]
      : [
          'Systems, settings and clock as in the previous scenario, except that the baseline stops',
          `${settings.baselineStopAfterS} s after its first update.`,
        ]),
    '',
    `| system | ${seeds.map((s) => `seed ${s} (s)`).join(' | ')} | median (s) | speed-up over sync-fedavg |`,
    `| --- | ${seeds.map(() => '---:').join(' | ')} | ---: | ---: |`,
    ...rows,
    '',
    `Best asynchronous rule: ${best}, ${fixed(baseline / medianOf(best), 2)}x the baseline's speed (target: at least 2x).`,
    `In the asynchronous runs a slow rank had ${fixed(median(slowShare), 2)} times the applied updates of a`,
    `normal one (median over runs). The baseline averaged ${fixed(median(syncRuns.map((r) => r.meanAnswered ?? 0)))}`,
    `answers per round and ${fixed(median(syncRuns.map((r) => r.meanRoundS ?? 0)), 2)} s per round.`,
    '',
    `![Held-out top-1 accuracy against seconds since the first update](${chart})`,
    '',
  ];
}

function compressionSection(results: CommResults): string[] {
  const compression = results.compression;
  if (!compression) return [];
  const { runs, equalWallS } = compression;
  const settings = [...new Set(runs.map((r) => r.system))];
  const seeds = [...new Set(runs.map((r) => r.seed))].sort((a, b) => a - b);
  const topAtEnd = (run: RunResult) =>
    run.curve.filter((p) => p.s <= equalWallS).at(-1)?.top1 ?? Number.NaN;
  const float32Bytes = median(
    runs.filter((r) => r.system === 'float32').map((r) => r.meanUpdateBytes)
  );
  const rows = settings.map((setting) => {
    const own = runs.filter((r) => r.system === setting);
    const bytes = median(own.map((r) => r.meanUpdateBytes));
    const perSeed = seeds.map((seed) => {
      const run = own.find((r) => r.seed === seed);
      return run ? fixed(topAtEnd(run) * 100) : '–';
    });
    const tops = own.map(topAtEnd).filter(Number.isFinite);
    const best = Math.max(...own.flatMap((r) => r.curve.map((p) => p.top1)));
    return [
      `| ${setting} | ${Math.round(bytes).toLocaleString('en-US')} | ${fixed(float32Bytes / bytes)}x`,
      `| ${Math.round(median(own.map((r) => r.updatesPublished)))} | ${perSeed.join(' | ')}`,
      `| ${fixed(median(tops) * 100)} | ${fixed(best * 100)} |`,
    ].join(' ');
  });
  const seedText = seeds.length === 1 ? `seed ${seeds[0]}` : `seeds ${seeds.join(', ')}`;
  return [
    '### Bytes per update and accuracy per compression',
    '',
    describeRun(compression.measured),
    '',
    `FedAsync with the workload on the shared CPUs above (${seedText}), each run stopped ${equalWallS} s after its`,
    'first update. Bytes are the mean payload of the update messages on the wire (headers not',
    'counted), and updates sent the median over seeds. Non-trainable tensors always travel as',
    'float32, and the MLP has none. On one machine the network costs almost nothing, so equal',
    'wall time mostly shows what each encoding costs in accuracy and CPU, not the time it saves',
    'on a slow link.',
    '',
    `| setting | bytes per update | smaller than float32 | updates sent | ${seeds.map((s) => `top-1 at ${equalWallS} s, seed ${s} (%)`).join(' | ')} | median (%) | best top-1, any seed (%) |`,
    `| --- | ---: | ---: | ---: | ${seeds.map(() => '---:').join(' | ')} | ---: | ---: |`,
    ...rows,
    '',
  ];
}

function throughputSection(results: CommResults): string[] {
  const throughput = results.throughput;
  if (!throughput) return [];
  const sizes = [...new Set(throughput.results.map((r) => r.parameters))];
  const rawRateOf = (parameters: number) =>
    median(
      throughput.results
        .filter((r) => r.parameters === parameters && r.mode === 'raw')
        .map((r) => r.updatesPerSecond)
    );
  const cpuRows = sizes.flatMap((parameters) =>
    (['raw', 'pipeline'] as const).map((mode) => {
      const own = throughput.results.filter(
        (r) => r.parameters === parameters && r.mode === mode && r.cpuMsPerUpdate
      );
      const cpu = (process: 'publisher' | 'consumer' | 'server') =>
        fixed(median(own.map((r) => r.cpuMsPerUpdate[process] ?? Number.NaN)), 2);
      return `| ${parameters.toLocaleString('en-US')} | ${mode} | ${cpu('publisher')} | ${cpu('consumer')} | ${cpu('server')} | ${fixed(median(own.map((r) => 1000 / r.updatesPerSecond)), 2)} |`;
    })
  );
  const rows = sizes.map((parameters) => {
    const of = (mode: 'raw' | 'pipeline') =>
      throughput.results.filter((r) => r.parameters === parameters && r.mode === mode);
    const raw = of('raw');
    const pipeline = of('pipeline');
    const rawRate = median(raw.map((r) => r.updatesPerSecond));
    const pipeRate = median(pipeline.map((r) => r.updatesPerSecond));
    const ratios = pipeline.map((p, i) => p.updatesPerSecond / (raw[i]?.updatesPerSecond ?? NaN));
    const sample = pipeline[0] ?? raw[0]!;
    return `| ${parameters.toLocaleString('en-US')} | ${(sample.updateBytes / 1e6).toFixed(2)} | ${sample.messagesPerUpdate} | ${sample.updates} | ${fixed(rawRate)} | ${fixed(median(raw.map((r) => r.megabytesPerSecond)))} | ${fixed(pipeRate)} | ${fixed(median(pipeline.map((r) => r.megabytesPerSecond)))} | ${fixed(pipeRate / rawRate, 2)} | ${ratios.map((r) => fixed(r, 2)).join(', ')} |`;
  });
  return [
    '### Update pipeline throughput',
    '',
    describeRun(throughput.measured),
    '',
    '`bench/comm/throughput.ts` against one nats-server with the update stream as provisioned',
    `for the services. A publisher process stands for the workers: ${throughput.publishers} concurrent loops`,
    'each encode a float32 update and publish it with `publishUpdate`, chunked above the',
    "server's 1 MiB `max_payload`, waiting for each acknowledgement. The benchmark process",
    'consumes through a durable pull consumer with pull requests of at most 16 MiB, as the',
    'aggregator does, and decodes, reassembles and applies each update with the FedAsync rule of',
    '`@asyncfl/aggregation`. Raw publishes',
    'prepared messages of the same sizes and consumes them with no processing. Time runs from',
    'the start signal to the last update applied or message received. Raw and pipeline',
    'alternate (raw first, then pipeline first) on the same server, and the table shows the',
    'median of the repeats. Messages are acknowledged at once, not after a snapshot as the',
    'aggregator does, and the two processes and nats-server share the 2 cores.',
    '',
    '| parameters | update (MB) | messages per update | updates | raw updates/s | raw MB/s | pipeline updates/s | pipeline MB/s | pipeline / raw | per repeat |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows,
    '',
    'CPU time per update of each process during the runs above (medians of the repeats), from',
    "`process.cpuUsage()` in the two Node.js processes and nats-server's /proc/PID/stat, with the",
    'wall time per update for comparison. With 2 cores, the three processes together can spend at',
    'most twice the wall time.',
    '',
    '| parameters | mode | publisher (ms) | consumer (ms) | nats-server (ms) | wall time (ms) |',
    '| ---: | --- | ---: | ---: | ---: | ---: |',
    ...cpuRows,
    '',
    'CPU time per update of each stage of the pipeline, timed in the benchmark process without',
    'NATS (medians of 15). The publisher encodes; the consumer does the rest.',
    '',
    '| parameters | encode (ms) | reassemble (ms) | decode (ms) | apply (ms) |',
    '| ---: | ---: | ---: | ---: | ---: |',
    ...(throughput.processing ?? []).map(
      (p) =>
        `| ${p.parameters.toLocaleString('en-US')} | ${fixed(p.encodeMs, 2)} | ${fixed(p.reassembleMs, 2)} | ${fixed(p.decodeMs, 2)} | ${fixed(p.applyMs, 2)} |`
    ),
    '',
  ];
}

/** Returns the least-squares slope of y against x. */
function slope(points: readonly { x: number; y: number }[]): number {
  const meanX = points.reduce((a, p) => a + p.x, 0) / points.length;
  const meanY = points.reduce((a, p) => a + p.y, 0) / points.length;
  let numerator = 0;
  let denominator = 0;
  for (const p of points) {
    numerator += (p.x - meanX) * (p.y - meanY);
    denominator += (p.x - meanX) ** 2;
  }
  return denominator > 0 ? numerator / denominator : Number.NaN;
}

function memorySection(results: CommResults): string[] {
  const memory = results.memory;
  if (!memory) return [];
  const rows = memory.results.map(
    (r) =>
      `| ${r.workers} | ${r.updatesApplied} | ${fixed(r.residentMb)} | ${fixed(r.heapUsedMb)} | ${r.samples} |`
  );
  const rssSlope = slope(memory.results.map((r) => ({ x: r.workers, y: r.residentMb })));
  const heapSlope = slope(memory.results.map((r) => ({ x: r.workers, y: r.heapUsedMb })));
  return [
    '### Aggregator memory per worker',
    '',
    describeRun(memory.measured),
    '',
    'The real aggregator (FedAsync, defaults) consumes MLP updates from simulated workers: one',
    `publisher in the benchmark process sends ${memory.totalUpdates} updates in turn over the ranks,`,
    'whatever their number, so that only the number of workers changes. Memory is read from the',
    "aggregator's `/metrics` (`process_resident_memory_bytes`, `nodejs_heap_size_used_bytes`), the",
    'median of samples taken once per second over the second half of the updates.',
    '',
    '| workers | updates applied | RSS (MiB) | V8 heap used (MiB) | samples |',
    '| ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `Least-squares slope: ${fixed(rssSlope * 1024, 0)} KiB of RSS and ${fixed(heapSlope * 1024, 0)} KiB of heap per`,
    'worker. Garbage collection timing moves both by several MiB between samples, so a slope',
    'this small is within the noise.',
    '',
  ];
}

/** Renders the whole comm-bench section. */
export function renderSection(results: CommResults): string {
  const m = results.machine;
  const versions = Object.entries(m)
    .filter(([key]) => key.startsWith('@') || key === 'protobufjs')
    .map(([key, value]) => `${key} ${value}`)
    .join(', ');
  return [
    '## Communication: time to accuracy, throughput, compression, memory',
    '',
    `Machine: ${m.cpus} x ${m.cpuModel}, ${m.memoryGiB} GiB memory, Node ${m.node},`,
    `${String(m.natsServer).replace('nats-server: ', 'nats-server ')}, ${versions}. The machine may`,
    'be shared with other builds and tests (see the load averages), so absolute numbers are',
    'noisy. Compare rows measured in the same run. Each part below can be rerun alone with',
    '`npm run bench:comm -- --only PART`. Raw results: [bench/comm.json](bench/comm.json); logs',
    'of every process: `runs/bench-comm/`.',
    '',
    ...ttaSection(
      results.tta,
      'Time to 90% held-out top-1 accuracy: workers on the shared CPUs',
      'bench/comm-accuracy.svg',
      true
    ),
    ...ttaSection(
      results.ttaDevice,
      'Time to 90% held-out top-1 accuracy: simulated device time',
      'bench/comm-accuracy-device.svg',
      !results.tta
    ),
    ...throughputSection(results),
    ...compressionSection(results),
    ...memorySection(results),
  ]
    .join('\n')
    .trim();
}
