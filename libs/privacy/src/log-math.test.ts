import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SignedLogSum, logAddExp, logErfc, logSubExp } from './log-math';

/** log(erfc(x)) computed with mpmath 1.3.0 at 30 significant digits. */
const LOG_ERFC_REFERENCE: readonly [number, number][] = [
  [-1.5, 0.67605450273396056397],
  [0, 0],
  [0.5, -0.73501112983708440303],
  [1, -1.8496055099332482486],
  [1.999, -5.3605240275450167808],
  [2, -5.3649412646166375745],
  [2.001, -5.3693603491899348738],
  [3, -10.720363041981112568],
  [5, -27.200889545537434422],
  [10, -102.87988902484488857],
  [30, -903.97411711064387808],
  [100, -10005.177585122664333],
];

describe('logErfc', () => {
  for (const [x, expected] of LOG_ERFC_REFERENCE) {
    it(`matches mpmath at x = ${x}`, () => {
      const actual = logErfc(x);
      // An absolute error in log(erfc) is the relative error of erfc itself.
      assert.ok(Math.abs(actual - expected) < 1e-13, `logErfc(${x}) = ${actual}, not ${expected}`);
    });
  }

  it('is NaN for NaN', () => {
    assert.ok(Number.isNaN(logErfc(Number.NaN)));
  });
});

describe('log-space sums', () => {
  it('adds and subtracts exponentials', () => {
    assert.ok(Math.abs(logAddExp(Math.log(2), Math.log(3)) - Math.log(5)) < 1e-15);
    assert.ok(Math.abs(logSubExp(Math.log(5), Math.log(3)) - Math.log(2)) < 1e-15);
    assert.equal(logAddExp(-Infinity, 1.5), 1.5);
    assert.equal(logSubExp(1.5, -Infinity), 1.5);
    assert.equal(logSubExp(1.5, 1.5), -Infinity);
  });

  it('adds terms far beyond double range', () => {
    assert.ok(Math.abs(logAddExp(1000, 1000) - (1000 + Math.LN2)) < 1e-12);
  });

  it('rejects a negative difference', () => {
    assert.throws(() => logSubExp(1, 2), RangeError);
  });

  it('sums signed terms whose partial sums change sign', () => {
    const sum = new SignedLogSum();
    sum.add(Math.log(1), -1);
    sum.add(Math.log(4), 1);
    sum.add(Math.log(2), -1);
    assert.ok(Math.abs(sum.log() - Math.log(1)) < 1e-15);
  });
});
