import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateRuleConfig } from './config';
import { InvalidOptionError } from './errors';

const staleness = { kind: 'constant' };

function fedBuffWith(extra: Record<string, unknown>): Record<string, unknown> {
  return { kind: 'fedbuff', bufferSize: 4, serverLr: 1, staleness, maxStaleness: 8, ...extra };
}

describe('validateRuleConfig', () => {
  test('config not an object', () => {
    assert.throws(() => validateRuleConfig(null), {
      name: 'InvalidOptionError',
      code: 'FL_AGG_INVALID_OPTION',
      message: "'config' must be an object (got null)",
    });
  });

  test('unknown kind', () => {
    assert.throws(() => validateRuleConfig({ kind: 'fedavg' }), {
      path: 'kind',
      value: 'fedavg',
      message: "'kind' must be one of 'fedasync', 'fedbuff', 'asyncsgd' (got \"fedavg\")",
    });
  });

  test('fedasync alpha missing', () => {
    assert.throws(() => validateRuleConfig({ kind: 'fedasync', staleness, maxStaleness: 2 }), {
      path: 'alpha',
      message: "'alpha' must be a finite number in (0, 1] (got undefined)",
    });
  });

  test('fedasync alpha=1.5', () => {
    assert.throws(
      () => validateRuleConfig({ kind: 'fedasync', alpha: 1.5, staleness, maxStaleness: 2 }),
      { path: 'alpha', value: 1.5 }
    );
  });

  test('fedasync window with delta form', () => {
    const config = { kind: 'fedasync', alpha: 0.5, staleness, maxStaleness: 2, window: 3 };
    assert.throws(() => validateRuleConfig(config), {
      path: 'window',
      message:
        "'window' must be absent unless 'form' is 'mixing', because the delta form keeps no old versions (got 3)",
    });
  });

  test('fedasync defaults', () => {
    const delta = validateRuleConfig({ kind: 'fedasync', alpha: 0.5, staleness, maxStaleness: 2 });
    assert.deepEqual(delta, {
      kind: 'fedasync',
      staleness: { kind: 'constant' },
      maxStaleness: 2,
      exampleWeighting: 'equal',
      clip: undefined,
      rankShare: undefined,
      normOutlier: undefined,
      alpha: 0.5,
      form: 'delta',
      window: 1,
    });
  });

  test('mixing window default min(maxStaleness+1, 16)', () => {
    const small = { kind: 'fedasync', alpha: 0.5, form: 'mixing', staleness, maxStaleness: 2 };
    const resolvedSmall = validateRuleConfig(small);
    assert.ok(resolvedSmall.kind === 'fedasync');
    assert.equal(resolvedSmall.window, 3);
    const large = { ...small, maxStaleness: 100 };
    const resolved = validateRuleConfig(large);
    assert.ok(resolved.kind === 'fedasync');
    assert.equal(resolved.window, 16);
  });

  test('staleness nested path', () => {
    const config = {
      kind: 'asyncsgd',
      lr: 0.1,
      staleness: { kind: 'polynomial', a: -1 },
      maxStaleness: 1,
    };
    assert.throws(() => validateRuleConfig(config), {
      path: 'staleness.a',
      message: "'staleness.a' must be a finite number > 0 (got -1)",
    });
  });

  test('maxStaleness=-1', () => {
    const config = { kind: 'asyncsgd', lr: 0.1, staleness, maxStaleness: -1 };
    assert.throws(() => validateRuleConfig(config), {
      message: "'maxStaleness' must be an integer >= 0 (got -1)",
    });
  });

  test('fedbuff bufferSize=0', () => {
    assert.throws(() => validateRuleConfig(fedBuffWith({ bufferSize: 0 })), {
      message: "'bufferSize' must be an integer >= 1 (got 0)",
    });
  });

  test('fedbuff optimizer.beta1=1', () => {
    const config = fedBuffWith({ optimizer: { kind: 'adam', beta1: 1 } });
    assert.throws(() => validateRuleConfig(config), {
      path: 'optimizer.beta1',
      message: "'optimizer.beta1' must be a finite number in [0, 1) (got 1)",
    });
  });

  test('fedbuff unknown optimizer option', () => {
    const config = fedBuffWith({ optimizer: { kind: 'adam', beta: 0.9 } });
    assert.throws(() => validateRuleConfig(config), {
      path: 'optimizer.beta',
      message:
        "'optimizer.beta' is not a known option (got 0.9). Known options of 'optimizer': kind, beta1, tau, initialAccumulator, beta2.",
    });
  });

  test('adagrad rejects beta2', () => {
    const config = fedBuffWith({ optimizer: { kind: 'adagrad', beta2: 0.9 } });
    assert.throws(() => validateRuleConfig(config), { path: 'optimizer.beta2' });
  });

  test('unknown top-level option', () => {
    assert.throws(() => validateRuleConfig(fedBuffWith({ bufersize: 3 })), {
      path: 'bufersize',
      message: /^'bufersize' is not a known option \(got 3\)\. Known options of the rule config: /,
    });
  });

  test('optimizer defaults follow Reddi et al.', () => {
    const adam = validateRuleConfig(fedBuffWith({ optimizer: { kind: 'adam' } }));
    assert.ok(adam.kind === 'fedbuff');
    assert.deepEqual(adam.optimizer, {
      kind: 'adam',
      beta1: 0.9,
      beta2: 0.99,
      tau: 1e-3,
      initialAccumulator: 1e-6,
    });
    const yogi = validateRuleConfig(fedBuffWith({ optimizer: { kind: 'yogi', tau: 0.1 } }));
    assert.ok(yogi.kind === 'fedbuff');
    assert.ok(yogi.optimizer.kind === 'yogi');
    assert.equal(yogi.optimizer.initialAccumulator, 0.1 * 0.1);
    const adagrad = validateRuleConfig(fedBuffWith({ optimizer: { kind: 'adagrad' } }));
    assert.ok(adagrad.kind === 'fedbuff');
    assert.ok(adagrad.optimizer.kind === 'adagrad');
    assert.equal(adagrad.optimizer.beta1, 0);
    const momentum = validateRuleConfig(fedBuffWith({ optimizer: { kind: 'momentum' } }));
    assert.ok(momentum.kind === 'fedbuff');
    assert.deepEqual(momentum.optimizer, { kind: 'momentum', momentum: 0.9, nesterov: false });
    const plain = validateRuleConfig(fedBuffWith({}));
    assert.ok(plain.kind === 'fedbuff');
    assert.deepEqual(plain.optimizer, { kind: 'sgd' });
    assert.deepEqual(plain.aggregator, { kind: 'mean' });
  });

  test('momentum nesterov="yes"', () => {
    const config = fedBuffWith({ optimizer: { kind: 'momentum', nesterov: 'yes' } });
    assert.throws(() => validateRuleConfig(config), {
      message: '\'optimizer.nesterov\' must be true or false (got "yes")',
    });
  });

  test('trimmedMean beta=0.5', () => {
    const config = fedBuffWith({ aggregator: { kind: 'trimmedMean', beta: 0.5 } });
    assert.throws(() => validateRuleConfig(config), {
      message: "'aggregator.beta' must be a finite number in [0, 0.5) (got 0.5)",
    });
  });

  test('clip maxNorm=0', () => {
    assert.throws(() => validateRuleConfig(fedBuffWith({ clip: { maxNorm: 0 } })), {
      path: 'clip.maxNorm',
    });
  });

  test('rankShare window defaults to 4 * worldSize', () => {
    const resolved = validateRuleConfig(
      fedBuffWith({ rankShare: { maxShare: 0.4, worldSize: 5 } })
    );
    assert.deepEqual(resolved.rankShare, { maxShare: 0.4, window: 20 });
  });

  test('rankShare without window or worldSize', () => {
    assert.throws(() => validateRuleConfig(fedBuffWith({ rankShare: { maxShare: 0.4 } })), {
      path: 'rankShare.window',
      message:
        "'rankShare.window' must be set, or 'rankShare.worldSize' set so that it defaults to 4 * worldSize (got undefined)",
    });
  });

  test('normOutlier minSamples above window', () => {
    const config = fedBuffWith({ normOutlier: { maxRatio: 3, window: 4, minSamples: 5 } });
    assert.throws(() => validateRuleConfig(config), {
      message: "'normOutlier.minSamples' must be an integer in [1, 4] (got 5)",
    });
  });

  test('normOutlier defaults', () => {
    const resolved = validateRuleConfig(fedBuffWith({ normOutlier: { maxRatio: 3 } }));
    assert.deepEqual(resolved.normOutlier, { maxRatio: 3, window: 32, minSamples: 8 });
  });

  test('errors are InvalidOptionError instances', () => {
    assert.throws(() => validateRuleConfig({ kind: 'asyncsgd' }), InvalidOptionError);
  });
});
