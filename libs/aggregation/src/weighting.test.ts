import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertClose } from './test-helpers';
import { ExampleCountMean, exampleFactor, exampleScore } from './weighting';

describe('example weighting', () => {
  test('equal factor is 1', () => {
    assert.equal(exampleFactor('equal', 500, 10), 1);
  });

  test('linear n=30 mean=20', () => {
    assertClose(exampleFactor('linear', 30, 20), 1.5); // 30 / 20
  });

  test('sqrt n=64 mean=16', () => {
    assertClose(exampleFactor('sqrt', 64, 16), 2); // 8 / 4
  });

  test('log n=3 mean=1', () => {
    assertClose(exampleScore('log', 3), Math.log(4)); // log(1 + 3)
    assertClose(exampleFactor('log', 3, 1), 2); // log(4) / log(2)
  });

  test('linear n=0 gives factor 0', () => {
    assert.equal(exampleFactor('linear', 0, 0), 0);
  });

  test('running mean counts updates and examples', () => {
    const mean = new ExampleCountMean();
    assert.equal(mean.meanWith(0, 0), 0);
    mean.add(10, 1);
    mean.add(30, 1);
    assertClose(mean.meanWith(0, 0), 20); // (10 + 30) / 2
    assertClose(mean.meanWith(5, 1), 15); // (40 + 5) / 3
  });
});
