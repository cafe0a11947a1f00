import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { initBackend } from './backend';
import { countTrainingFlops } from './flops';
import { createModel } from './models';

before(async () => {
  await initBackend('wasm');
});

describe('countTrainingFlops', () => {
  test('mlp counts dense layers', () => {
    const flops = countTrainingFlops(createModel('mlp', { hidden: [200, 200] }));

    assert.deepEqual(
      flops.layers.map((layer) => layer.layer),
      ['dense1', 'dense2', 'dense3']
    );
    assert.equal(flops.forward, 2 * (784 * 200 + 200 * 200 + 200 * 10));
    // dense1 is fed by the input, so it has no input gradient.
    assert.equal(flops.layers[0]!.inputGradient, 0);
    assert.equal(flops.backward, 2 * flops.forward - 2 * 784 * 200);
    assert.equal(flops.total, flops.forward + flops.backward);
  });

  test('lenet counts output positions', () => {
    const flops = countTrainingFlops(createModel('lenet'));
    const byName = new Map(flops.layers.map((layer) => [layer.layer, layer]));

    // conv1: 28x28 outputs of 5x5x1 multiply-adds into 32 channels.
    assert.equal(byName.get('conv1')!.forward, 2 * 28 * 28 * 5 * 5 * 1 * 32);
    // conv2 ('valid' on 14x14): 10x10 outputs of 5x5x32 into 64 channels.
    assert.equal(byName.get('conv2')!.forward, 2 * 10 * 10 * 5 * 5 * 32 * 64);
    assert.equal(byName.get('conv2')!.inputGradient, byName.get('conv2')!.forward);
    assert.equal(byName.get('conv1')!.inputGradient, 0);
    assert.equal(byName.get('dense1')!.forward, 2 * 1600 * 128);
  });

  test('cifar-cnn counts three convolutions', () => {
    const flops = countTrainingFlops(createModel('cifar-cnn'));

    assert.deepEqual(
      flops.layers.map((layer) => [layer.layer, layer.forward]),
      [
        ['conv1', 2 * 32 * 32 * 27 * 32],
        ['conv2', 2 * 16 * 16 * 288 * 64],
        ['conv3', 2 * 8 * 8 * 576 * 64],
        ['dense1', 2 * 1024 * 128],
        ['dense2', 2 * 128 * 10],
      ]
    );
  });
});
