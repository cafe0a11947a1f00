import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RuleConfig } from './config';
import { createRule } from './create-rule';
import { stalenessConfigs } from './staleness';
import {
  assertSameBits,
  copyTensors,
  tensors,
  trainable,
  update,
  vectorSpec,
} from './test-helpers';

const FEDASYNC: RuleConfig = {
  kind: 'fedasync',
  alpha: 0.5,
  staleness: stalenessConfigs.constant(),
  maxStaleness: 4,
};
const FEDBUFF: RuleConfig = {
  kind: 'fedbuff',
  bufferSize: 2,
  serverLr: 1,
  optimizer: { kind: 'adam' },
  staleness: stalenessConfigs.constant(),
  maxStaleness: 4,
};

describe('createRule', () => {
  test('initial missing tensor', () => {
    assert.throws(
      () => createRule(FEDASYNC, [trainable('w', [1]), trainable('b', [1])], tensors({ w: [0] })),
      {
        name: 'InvalidModelError',
        code: 'FL_AGG_INVALID_MODEL',
        tensorName: 'b',
        message: "initial weights must contain tensor 'b' as a Float32Array (got undefined)",
      }
    );
  });

  test('initial tensor wrong size', () => {
    assert.throws(() => createRule(FEDASYNC, vectorSpec(2), tensors({ w: [0] })), {
      message: "initial tensor 'w' has 1 elements, expected 2 (shape [2])",
    });
  });

  test('initial extra tensor', () => {
    assert.throws(() => createRule(FEDASYNC, vectorSpec(1), tensors({ w: [0], x: [1] })), {
      tensorName: 'x',
    });
  });

  test('spec duplicate name', () => {
    assert.throws(
      () => createRule(FEDASYNC, [trainable('w', [1]), trainable('w', [1])], tensors({ w: [0] })),
      {
        message: "model spec lists tensor 'w' twice",
      }
    );
  });

  test('spec negative dimension', () => {
    assert.throws(() => createRule(FEDASYNC, [trainable('w', [-1])], tensors({ w: [] })), {
      name: 'InvalidModelError',
    });
  });

  test('startVersion=-1', () => {
    assert.throws(() => createRule(FEDASYNC, vectorSpec(1), tensors({ w: [0] }), -1), {
      name: 'InvalidArgumentError',
      code: 'FL_AGG_INVALID_ARGUMENT',
      message: "'startVersion' must be a non-negative integer (got -1)",
    });
  });

  test('initial weights are copied', () => {
    const initial = tensors({ w: [1] });
    const rule = createRule(FEDASYNC, vectorSpec(1), initial);
    rule.submit(update('u1', 0, { w: [2] }));
    assert.deepEqual([...(initial.get('w') ?? [])], [1]);
  });

  test('weights stay the same live arrays', () => {
    const rule = createRule(FEDASYNC, vectorSpec(1), tensors({ w: [1] }));
    const live = rule.weights.get('w');
    rule.submit(update('u1', 0, { w: [2] }));
    assert.equal(rule.weights.get('w'), live);
    assert.deepEqual([...(live ?? [])], [0]);
  });
});

describe('state import and export', () => {
  test('export is a copy', () => {
    const rule = createRule(FEDBUFF, vectorSpec(1), tensors({ w: [1] }));
    const state = rule.exportState();
    const saved = copyTensors(state.tensors);
    rule.submit(update('a', 0, { w: [1] }));
    rule.submit(update('b', 0, { w: [1] }));
    assertSameBits(state.tensors, saved);
  });

  test('state of another kind rejected', () => {
    const state = createRule(FEDBUFF, vectorSpec(1), tensors({ w: [1] })).exportState();
    const rule = createRule(FEDASYNC, vectorSpec(1), tensors({ w: [1] }));
    assert.throws(() => rule.importState(state), {
      name: 'InvalidStateError',
      code: 'FL_AGG_INVALID_STATE',
      key: 'rule',
      message: "state was exported by another rule kind: scalar 'rule' is 2, FedAsync uses 1",
    });
  });

  test('missing optimizer slot rejected without changes', () => {
    const source = createRule(FEDBUFF, vectorSpec(1), tensors({ w: [5] }), 7);
    const state = source.exportState();
    state.tensors.delete('optimizer.second/w');
    const rule = createRule(FEDBUFF, vectorSpec(1), tensors({ w: [1] }));
    const before = rule.exportState();
    assert.throws(() => rule.importState(state), {
      key: 'optimizer.second/w',
      message: "state tensor 'optimizer.second/w' is missing",
    });
    assert.equal(rule.version, 0);
    assertSameBits(rule.exportState().tensors, before.tensors);
  });

  test('extra tensor rejected', () => {
    const fedAsyncState = createRule(FEDASYNC, vectorSpec(1), tensors({ w: [1] })).exportState();
    fedAsyncState.tensors.set('optimizer.first/w', new Float32Array(1));
    const rule = createRule(FEDASYNC, vectorSpec(1), tensors({ w: [1] }));
    assert.throws(() => rule.importState(fedAsyncState), { key: 'optimizer.first/w' });
  });

  test('wrong tensor size rejected', () => {
    const state = createRule(FEDASYNC, vectorSpec(2), tensors({ w: [1, 2] })).exportState();
    const rule = createRule(FEDASYNC, vectorSpec(1), tensors({ w: [1] }));
    assert.throws(() => rule.importState(state), {
      message: "state tensor 'weights/w' has 2 elements, expected 1",
    });
  });

  test('import drops buffered updates', () => {
    const rule = createRule(FEDBUFF, vectorSpec(1), tensors({ w: [1] }));
    const state = rule.exportState();
    rule.submit(update('a', 0, { w: [1] }));
    rule.importState(state);
    assert.deepEqual(rule.pending(), []);
  });

  test('mixing window restored', () => {
    const config: RuleConfig = { ...FEDASYNC, form: 'mixing', window: 3 } as RuleConfig;
    const source = createRule(config, vectorSpec(1), tensors({ w: [0] }));
    for (let i = 0; i < 4; i++) source.submit(update(`u${i}`, i, { w: [i + 1] }));
    const state = source.exportState();
    assert.equal(state.scalars['window.oldestVersion'], 2);
    assert.deepEqual(
      [...state.tensors.keys()].filter((key) => key.startsWith('window/')),
      ['window/2/w', 'window/3/w', 'window/4/w']
    );
    const restored = createRule(config, vectorSpec(1), tensors({ w: [9] }));
    restored.importState(state);
    assert.equal(restored.admit(update('old', 1, { w: [1] })).ok, false);
    source.submit(update('next', 2, { w: [1] }));
    restored.submit(update('next', 2, { w: [1] }));
    assertSameBits(restored.weights, source.weights);
  });
});
