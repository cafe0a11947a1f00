import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { InvalidArgumentError, InvalidOptionError } from './errors';
import {
  describeStaleness,
  makeStaleness,
  stalenessConfigs,
  validateStalenessConfig,
  type StalenessConfig,
} from './staleness';
import { assertClose } from './test-helpers';

describe('staleness functions', () => {
  test('constant', () => {
    const s = makeStaleness(stalenessConfigs.constant());
    assertClose(s(0), 1);
    assertClose(s(7), 1);
  });

  test('polynomial a=0.5', () => {
    const s = makeStaleness(stalenessConfigs.polynomial(0.5));
    assertClose(s(0), 1); // 1^-0.5
    assertClose(s(3), 0.5); // 4^-0.5 = 1/2
    assertClose(s(8), 1 / 3); // 9^-0.5 = 1/3
  });

  test('polynomial a=1', () => {
    const s = makeStaleness(stalenessConfigs.polynomial(1));
    assertClose(s(1), 0.5); // 2^-1
    assertClose(s(4), 0.2); // 5^-1
  });

  test('hinge a=0.5 b=2', () => {
    const s = makeStaleness(stalenessConfigs.hinge(0.5, 2));
    assertClose(s(0), 1); // d <= b
    assertClose(s(2), 1); // d <= b
    assertClose(s(4), 0.5); // 1 / (0.5 * (4 - 2) + 1) = 1/2
    assertClose(s(8), 0.25); // 1 / (0.5 * (8 - 2) + 1) = 1/4
  });

  test('fedbuff 1/sqrt(1+d)', () => {
    const s = makeStaleness(stalenessConfigs.fedbuff());
    assertClose(s(0), 1); // 1/sqrt(1)
    assertClose(s(3), 0.5); // 1/sqrt(4)
    assertClose(s(8), 1 / 3); // 1/sqrt(9)
  });

  test('inverse 1/max(1,d)', () => {
    const s = makeStaleness(stalenessConfigs.inverse());
    assertClose(s(0), 1); // 1/max(1, 0)
    assertClose(s(1), 1); // 1/1
    assertClose(s(4), 0.25); // 1/4
  });

  test('describe names kind and parameters', () => {
    assert.equal(describeStaleness(stalenessConfigs.polynomial(0.5)), 'polynomial a=0.5');
    assert.equal(describeStaleness(stalenessConfigs.hinge(10, 4)), 'hinge a=10 b=4');
    assert.equal(describeStaleness(stalenessConfigs.constant()), 'constant');
  });
});

describe('staleness validation', () => {
  test('polynomial a=-1 rejected', () => {
    assert.throws(() => makeStaleness({ kind: 'polynomial', a: -1 }), {
      name: 'InvalidOptionError',
      code: 'FL_AGG_INVALID_OPTION',
      path: 'staleness.a',
      value: -1,
      message: "'staleness.a' must be a finite number > 0 (got -1)",
    });
  });

  test('polynomial a=0 rejected', () => {
    assert.throws(() => makeStaleness({ kind: 'polynomial', a: 0 }), InvalidOptionError);
  });

  test('hinge b=1.5 rejected', () => {
    assert.throws(() => makeStaleness({ kind: 'hinge', a: 1, b: 1.5 }), {
      path: 'staleness.b',
      message: "'staleness.b' must be an integer >= 0 (got 1.5)",
    });
  });

  test('unknown kind rejected', () => {
    assert.throws(() => validateStalenessConfig({ kind: 'exponential' }), {
      path: 'staleness.kind',
      message:
        "'staleness.kind' must be one of 'constant', 'polynomial', 'hinge', 'fedbuff', 'inverse' (got \"exponential\")",
    });
  });

  test('extra key rejected', () => {
    assert.throws(() => validateStalenessConfig({ kind: 'constant', a: 1 }), {
      path: 'staleness.a',
    });
  });

  test('staleness d=-1 and d=1.5 rejected', () => {
    const s = makeStaleness(stalenessConfigs.fedbuff());
    assert.throws(() => s(-1), {
      name: 'InvalidArgumentError',
      code: 'FL_AGG_INVALID_ARGUMENT',
      message: "'staleness' must be a non-negative integer (got -1)",
    });
    assert.throws(() => s(1.5), InvalidArgumentError);
    assert.throws(() => s(Number.NaN), InvalidArgumentError);
  });
});

const stalenessConfigArbitrary: fc.Arbitrary<StalenessConfig> = fc.oneof(
  fc.constant(stalenessConfigs.constant()),
  fc.double({ min: 1e-3, max: 8, noNaN: true }).map((a) => stalenessConfigs.polynomial(a)),
  fc
    .tuple(fc.double({ min: 1e-3, max: 100, noNaN: true }), fc.integer({ min: 0, max: 1000 }))
    .map(([a, b]) => stalenessConfigs.hinge(a, b)),
  fc.constant(stalenessConfigs.fedbuff()),
  fc.constant(stalenessConfigs.inverse())
);

describe('staleness properties', () => {
  test('weights lie in (0, 1] for d in [0, 1e9]', () => {
    fc.assert(
      fc.property(stalenessConfigArbitrary, fc.integer({ min: 0, max: 1e9 }), (config, d) => {
        const weight = makeStaleness(config)(d);
        assert.ok(weight > 0, `${describeStaleness(config)} s(${d}) = ${weight} is not > 0`);
        assert.ok(weight <= 1, `${describeStaleness(config)} s(${d}) = ${weight} is not <= 1`);
      })
    );
  });

  test('weights never increase with d', () => {
    fc.assert(
      fc.property(stalenessConfigArbitrary, fc.integer({ min: 0, max: 1e9 }), (config, d) => {
        const s = makeStaleness(config);
        assert.ok(s(d + 1) <= s(d), `${describeStaleness(config)} increases at d=${d}`);
      })
    );
  });
});
