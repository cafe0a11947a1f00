import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { ModelSpec, TensorMap } from '@asyncfl/protocol';
import type {
  AsyncSgdConfig,
  FedAsyncConfig,
  FedBuffConfig,
  OptimizerConfig,
  RuleConfig,
} from './config';
import { createRule } from './create-rule';
import { UpdateRejectedError } from './errors';
import { compareIds } from './kernels';
import type { RejectReason } from './reasons';
import { stalenessConfigs, type StalenessConfig } from './staleness';
import type { AggregationState } from './state';
import { assertSameBits, nonTrainable, rejectionOf, trainable } from './test-helpers';
import type { AggregationRule, UpdateInput } from './types';
import { EXAMPLE_WEIGHTINGS } from './weighting';

const SPEC: ModelSpec = [
  trainable('dense/kernel', [2, 3]),
  trainable('dense/bias', [3]),
  nonTrainable('bn/mean', [3]),
];
const SIZES = [6, 3, 3];
const TOTAL_SIZE = 12;

/** Builds a tensor map for SPEC from one flat list of values. */
function specTensors(values: readonly number[]): TensorMap {
  const map: TensorMap = new Map();
  let offset = 0;
  SPEC.forEach((tensor, index) => {
    const size = SIZES[index] ?? 0;
    map.set(tensor.name, Float32Array.from(values.slice(offset, offset + size)));
    offset += size;
  });
  return map;
}

interface Event {
  rank: number;
  /** Versions behind the current one that the update trained from. */
  lag: number;
  numExamples: number;
  values: number[];
}

const valueArbitrary = fc.float({
  min: Math.fround(-4),
  max: Math.fround(4),
  noNaN: true,
  noDefaultInfinity: true,
});

const eventArbitrary: fc.Arbitrary<Event> = fc.record({
  rank: fc.integer({ min: 0, max: 3 }),
  lag: fc.integer({ min: 0, max: 5 }),
  numExamples: fc.integer({ min: 1, max: 50 }),
  values: fc.array(valueArbitrary, { minLength: TOTAL_SIZE, maxLength: TOTAL_SIZE }),
});

const unitDouble = (min: number, max: number) => fc.double({ min, max, noNaN: true });

const stalenessArbitrary: fc.Arbitrary<StalenessConfig> = fc.oneof(
  fc.constant(stalenessConfigs.constant()),
  unitDouble(0.1, 2).map((a) => stalenessConfigs.polynomial(a)),
  fc
    .tuple(unitDouble(0.1, 5), fc.integer({ min: 0, max: 3 }))
    .map(([a, b]) => stalenessConfigs.hinge(a, b)),
  fc.constant(stalenessConfigs.fedbuff()),
  fc.constant(stalenessConfigs.inverse())
);

function commonArbitrary(robustChecks: boolean) {
  const rankShare = fc.record({
    maxShare: unitDouble(0.3, 1),
    window: fc.integer({ min: 2, max: 6 }),
  });
  const normOutlier = fc.integer({ min: 1, max: 6 }).chain((window) =>
    fc.record({
      maxRatio: unitDouble(1, 4),
      window: fc.constant(window),
      minSamples: fc.integer({ min: 1, max: window }),
    })
  );
  return fc.record({
    staleness: stalenessArbitrary,
    maxStaleness: fc.integer({ min: 0, max: 4 }),
    exampleWeighting: fc.constantFrom(...EXAMPLE_WEIGHTINGS),
    clip: fc.option(fc.record({ maxNorm: unitDouble(0.1, 10) }), { nil: undefined }),
    rankShare: robustChecks ? fc.option(rankShare, { nil: undefined }) : fc.constant(undefined),
    normOutlier: robustChecks ? fc.option(normOutlier, { nil: undefined }) : fc.constant(undefined),
  });
}

const optimizerArbitrary: fc.Arbitrary<OptimizerConfig> = fc.oneof(
  fc.constant({ kind: 'sgd' as const }),
  fc.record({
    kind: fc.constant('momentum' as const),
    momentum: unitDouble(0, 0.95),
    nesterov: fc.boolean(),
  }),
  fc.record({
    kind: fc.constantFrom('adam' as const, 'yogi' as const),
    beta1: unitDouble(0, 0.95),
    beta2: unitDouble(0, 0.999),
    tau: unitDouble(1e-4, 1),
  }),
  fc.record({
    kind: fc.constant('adagrad' as const),
    beta1: unitDouble(0, 0.9),
    tau: unitDouble(1e-4, 1),
  })
);

function fedBuffArbitrary(robustChecks: boolean): fc.Arbitrary<FedBuffConfig> {
  return fc
    .record({
      common: commonArbitrary(robustChecks),
      bufferSize: fc.integer({ min: 1, max: 5 }),
      serverLr: unitDouble(0.01, 2),
      optimizer: optimizerArbitrary,
      aggregator: fc.oneof(
        fc.constant({ kind: 'mean' as const }),
        fc.constant({ kind: 'median' as const }),
        fc.record({ kind: fc.constant('trimmedMean' as const), beta: unitDouble(0, 0.49) })
      ),
    })
    .map(({ common, ...rest }) => ({ kind: 'fedbuff', ...common, ...rest }));
}

const fedAsyncArbitrary: fc.Arbitrary<FedAsyncConfig> = fc
  .record({
    common: commonArbitrary(true),
    alpha: unitDouble(0.05, 1),
    mixing: fc.boolean(),
    window: fc.integer({ min: 1, max: 4 }),
  })
  .map(({ common, alpha, mixing, window }) =>
    mixing
      ? { kind: 'fedasync', ...common, alpha, form: 'mixing', window }
      : { kind: 'fedasync', ...common, alpha, form: 'delta' }
  );

const asyncSgdArbitrary: fc.Arbitrary<AsyncSgdConfig> = fc
  .record({ common: commonArbitrary(true), lr: unitDouble(0.001, 1) })
  .map(({ common, lr }) => ({ kind: 'asyncsgd', ...common, lr }));

const ruleConfigArbitrary: fc.Arbitrary<RuleConfig> = fc.oneof(
  fedAsyncArbitrary,
  fedBuffArbitrary(true),
  asyncSgdArbitrary
);

const initialArbitrary = fc.array(valueArbitrary, { minLength: TOTAL_SIZE, maxLength: TOTAL_SIZE });

function makeUpdate(rule: AggregationRule, id: string, event: Event, maxLag = Infinity) {
  const lag = Math.min(event.lag, maxLag);
  return {
    id,
    rank: event.rank,
    baseVersion: Math.max(0, rule.version - lag),
    numExamples: event.numExamples,
    tensors: specTensors(event.values),
  };
}

/** Submits each event that admission accepts and returns the accepted updates by id. */
function drive(rule: AggregationRule, events: readonly Event[], firstIndex = 0) {
  const accepted = new Map<string, UpdateInput>();
  events.forEach((event, offset) => {
    const input = makeUpdate(rule, `u${firstIndex + offset}`, event);
    if (rule.admit(input).ok) {
      rule.submit(input);
      accepted.set(input.id, input);
    }
  });
  return accepted;
}

function assertSameState(actual: AggregationState, expected: AggregationState): void {
  assert.equal(actual.version, expected.version, 'version');
  assert.deepEqual(actual.scalars, expected.scalars, 'scalars');
  assertSameBits(actual.tensors, expected.tensors, 'state tensors');
}

describe('aggregation properties', () => {
  test('FedBuff flush independent of arrival order', () => {
    const scenario = fedBuffArbitrary(false).chain((config) => {
      const size = config.bufferSize;
      return fc.record({
        config: fc.constant(config),
        initial: initialArbitrary,
        warmUp: fc
          .integer({ min: 0, max: 2 })
          .chain((buffers) =>
            fc.array(eventArbitrary, { minLength: buffers * size, maxLength: buffers * size })
          ),
        ids: fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), {
          minLength: size,
          maxLength: size,
        }),
        buffer: fc.array(eventArbitrary, { minLength: size, maxLength: size }),
        permutation: fc.shuffledSubarray(
          Array.from({ length: size }, (_, index) => index),
          { minLength: size, maxLength: size }
        ),
      });
    });
    fc.assert(
      fc.property(scenario, ({ config, initial, warmUp, ids, buffer, permutation }) => {
        const inOrder = createRule(config, SPEC, specTensors(initial));
        const permuted = createRule(config, SPEC, specTensors(initial));
        for (const rule of [inOrder, permuted]) {
          warmUp.forEach((event, i) => {
            rule.submit(makeUpdate(rule, `warm${i}`, event, config.maxStaleness));
          });
        }
        const inputs = buffer.map((event, i) =>
          makeUpdate(inOrder, ids[i] ?? '', event, config.maxStaleness)
        );
        let appliedInOrder: string[] = [];
        for (const input of inputs) appliedInOrder = inOrder.submit(input).applied;
        let appliedPermuted: string[] = [];
        for (const index of permutation) {
          appliedPermuted = permuted.submit(inputs[index] as UpdateInput).applied;
        }
        assert.deepEqual(appliedPermuted, appliedInOrder);
        assert.deepEqual(appliedInOrder, [...ids].sort(compareIds));
        assertSameBits(permuted.weights, inOrder.weights, 'weights');
        assertSameState(permuted.exportState(), inOrder.exportState());
      }),
      { numRuns: 150 }
    );
  });

  test('rejected update leaves state bit-identical', () => {
    const badKinds = [
      'future_base_version',
      'too_stale',
      'unknown_tensor',
      'missing_tensor',
      'wrong_shape',
      'non_finite',
      'malformed_update',
    ] as const satisfies readonly RejectReason[];
    const scenario = fc.record({
      config: ruleConfigArbitrary,
      initial: initialArbitrary,
      events: fc.array(eventArbitrary, { maxLength: 12 }),
      bad: fc.constantFrom(...badKinds),
      badEvent: eventArbitrary,
      position: fc.integer({ min: 0, max: TOTAL_SIZE - 1 }),
      poison: fc.constantFrom(Number.NaN, Infinity, -Infinity),
    });
    fc.assert(
      fc.property(scenario, ({ config, initial, events, bad, badEvent, position, poison }) => {
        const rule = createRule(config, SPEC, specTensors(initial));
        drive(rule, events);
        if (bad === 'too_stale') fc.pre(rule.version > config.maxStaleness);

        const input = makeUpdate(rule, 'bad', badEvent);
        input.baseVersion = rule.version;
        switch (bad) {
          case 'future_base_version':
            input.baseVersion = rule.version + 1;
            break;
          case 'too_stale':
            input.baseVersion = rule.version - config.maxStaleness - 1;
            break;
          case 'unknown_tensor':
            input.tensors.set('extra', new Float32Array(1));
            break;
          case 'missing_tensor':
            input.tensors.delete('dense/bias');
            break;
          case 'wrong_shape':
            input.tensors.set('dense/bias', new Float32Array(4));
            break;
          case 'non_finite': {
            const values = [...badEvent.values];
            values[position] = poison;
            input.tensors = specTensors(values);
            break;
          }
          case 'malformed_update':
            input.numExamples = -1;
            break;
        }

        const before = rule.exportState();
        const pendingBefore = rule.pending();
        const admission = rule.admit(input);
        assert.equal(rejectionOf(admission).reason, bad);
        assert.throws(
          () => rule.submit(input),
          (error) => error instanceof UpdateRejectedError && error.reason === bad
        );
        assertSameState(rule.exportState(), before);
        assert.deepEqual(rule.pending(), pendingBefore);
      }),
      { numRuns: 200 }
    );
  });

  test('admit of a valid update changes no state', () => {
    const scenario = fc.record({
      config: ruleConfigArbitrary,
      initial: initialArbitrary,
      events: fc.array(eventArbitrary, { maxLength: 10 }),
      probe: eventArbitrary,
    });
    fc.assert(
      fc.property(scenario, ({ config, initial, events, probe }) => {
        const rule = createRule(config, SPEC, specTensors(initial));
        drive(rule, events);
        const before = rule.exportState();
        const pendingBefore = rule.pending();
        rule.admit(makeUpdate(rule, 'probe', probe));
        assertSameState(rule.exportState(), before);
        assert.deepEqual(rule.pending(), pendingBefore);
      }),
      { numRuns: 100 }
    );
  });

  test('export and import continue like an uninterrupted run', () => {
    const scenario = fc.record({
      config: ruleConfigArbitrary,
      initial: initialArbitrary,
      events: fc.array(eventArbitrary, { minLength: 1, maxLength: 16 }),
      split: fc.nat(),
    });
    fc.assert(
      fc.property(scenario, ({ config, initial, events, split }) => {
        const cut = split % (events.length + 1);
        const uninterrupted = createRule(config, SPEC, specTensors(initial));
        drive(uninterrupted, events);

        const first = createRule(config, SPEC, specTensors(initial));
        const accepted = drive(first, events.slice(0, cut));
        const state = first.exportState();
        const buffered = first.pending().map((id) => accepted.get(id) as UpdateInput);

        const restored = createRule(config, SPEC, specTensors(new Array(TOTAL_SIZE).fill(0)));
        restored.importState(state);
        for (const input of buffered) restored.submit(input);
        drive(restored, events.slice(cut), cut);

        assertSameState(restored.exportState(), uninterrupted.exportState());
        assert.deepEqual(restored.pending(), uninterrupted.pending());
      }),
      { numRuns: 200 }
    );
  });
});
