// One time-to-accuracy run of the shared-CPU workload with chosen flags, for trying settings by
// hand before adding them to bench/comm/main.ts:
//
//   tsx bench/comm/tta-probe.ts sync|fedasync|fedbuff [--seed N] [--slow-step-delay-ms MS]
//       [--stop-after-s S] [--worker-args "FLAGS"] [-- AGGREGATOR FLAGS]
//
// A run stops S seconds after its first update: by default 8 for an asynchronous run and 12 for
// the baseline.
// FedBuff runs with `--buffer-size 3 --snapshot-every 1` unless the aggregator flags set a buffer
// size. Prints the seconds to 90% held-out top-1, the updates sent and the versions made.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runAsync, runSync } from './runs';

const { values, positionals } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    // Three times a step of about 8 ms, as bench/comm/main.ts sets from its calibration.
    'slow-step-delay-ms': { type: 'string', default: '25' },
    'worker-args': { type: 'string', default: '' },
    'stop-after-s': { type: 'string' },
  },
  allowPositionals: true,
  strict: true,
});
const [system, ...aggregatorFlags] = positionals;
if (system !== 'sync' && system !== 'fedasync' && system !== 'fedbuff') {
  console.error(
    `expected the system sync, fedasync or fedbuff as the first argument (got ${system ?? 'none'})`
  );
  process.exit(2);
}

const stopAfterS = Number(values['stop-after-s'] ?? (system === 'sync' ? 12 : 8));
if (!(stopAfterS > 0)) {
  console.error(`invalid --stop-after-s '${values['stop-after-s']}': expected seconds > 0`);
  process.exit(2);
}
const seed = Number(values.seed);
const workload = {
  world: 8,
  slowRanks: [6, 7],
  stepDelayMs: Number(values['slow-step-delay-ms']),
  normalStepDelayMs: 0,
  leaveRank: 5,
  leaveAfterS: 2,
  localSteps: 31,
  seed,
};
const common = {
  workload,
  target: 0.9,
  stopAfterS,
  logDir: join('runs/probe', `${system}-${seed}`),
};

let result;
if (system === 'sync') {
  result = await runSync(common);
} else {
  const fedbuffDefaults = aggregatorFlags.includes('--buffer-size')
    ? ['--snapshot-every', '1']
    : ['--buffer-size', '3', '--snapshot-every', '1'];
  result = await runAsync({
    ...common,
    rule: system,
    workerArgs: values['worker-args']!.split(' ').filter(Boolean),
    aggregatorArgs:
      system === 'fedbuff' ? [...fedbuffDefaults, ...aggregatorFlags] : aggregatorFlags,
  });
}
const time = result.timeToTargetS === null ? 'not reached' : `${result.timeToTargetS.toFixed(2)} s`;
console.log(
  `${system} seed ${seed}: ${time} to 90%, ${result.updatesPublished} updates, ${result.steps} versions or rounds`
);
