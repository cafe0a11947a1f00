import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from './backend';
import { maxAbsDifference, seededRandom } from './test-utils';
import {
  planInputGradient,
  registerWasmGradientKernels,
  WASM_GRADIENT_KERNELS,
} from './wasm-kernels';

before(async () => {
  await initBackend('wasm');
});

type Shape4 = [number, number, number, number];
type Padding =
  'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

interface ConvCase {
  readonly name: string;
  readonly input: Shape4;
  readonly filter: Shape4;
  readonly strides: number | [number, number];
  readonly pad: Padding;
}

const CASES: readonly ConvCase[] = [
  { name: 'valid stride 1', input: [2, 8, 8, 1], filter: [3, 3, 1, 2], strides: 1, pad: 'valid' },
  { name: 'same stride 1', input: [3, 9, 7, 2], filter: [5, 5, 2, 4], strides: 1, pad: 'same' },
  { name: 'valid stride 2', input: [3, 9, 7, 2], filter: [3, 2, 2, 4], strides: 2, pad: 'valid' },
  { name: 'same stride 2', input: [3, 9, 7, 2], filter: [3, 3, 2, 4], strides: 2, pad: 'same' },
  {
    name: 'same strides 3x2',
    input: [2, 10, 11, 3],
    filter: [4, 3, 3, 5],
    strides: [3, 2],
    pad: 'same',
  },
  {
    name: 'valid strides 2x3',
    input: [2, 10, 11, 3],
    filter: [5, 5, 3, 5],
    strides: [2, 3],
    pad: 'valid',
  },
  {
    name: 'explicit padding',
    input: [2, 10, 11, 3],
    filter: [3, 3, 3, 2],
    strides: 1,
    pad: [
      [0, 0],
      [1, 2],
      [0, 2],
      [0, 0],
    ],
  },
  {
    name: 'lenet conv1 shape',
    input: [4, 28, 28, 1],
    filter: [5, 5, 1, 32],
    strides: 1,
    pad: 'same',
  },
  {
    name: 'cifar conv2 shape',
    input: [2, 16, 16, 32],
    filter: [3, 3, 32, 64],
    strides: 1,
    pad: 'same',
  },
];

function randomValues(count: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: count }, () => random() - 0.5);
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((size, dim) => size * dim, 1);
}

interface ConvGradients {
  readonly dx: Float32Array;
  readonly dw: Float32Array;
  readonly dyShape: readonly number[];
}

/**
 * Computes the gradients of sum(conv2d(x, w) * r) on `backend`, with r a fixed random tensor,
 * so that the gradient with respect to the convolution output is r itself.
 */
async function convGradients(backend: string, convCase: ConvCase): Promise<ConvGradients> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(randomValues(sizeOf(convCase.input), 1), convCase.input);
    const w = tf.tensor4d(randomValues(sizeOf(convCase.filter), 2), convCase.filter);
    const outShape = tf.conv2d(x, w, convCase.strides, convCase.pad).shape;
    const r = tf.tensor(randomValues(sizeOf(outShape), 3), outShape);
    const [dx, dw] = tf.grads((input: tf.Tensor, filter: tf.Tensor) =>
      tf.sum(
        tf.mul(
          tf.conv2d(input as tf.Tensor4D, filter as tf.Tensor4D, convCase.strides, convCase.pad),
          r
        )
      )
    )([x, w]);
    return {
      dx: dx!.dataSync() as Float32Array,
      dw: dw!.dataSync() as Float32Array,
      dyShape: outShape,
    };
  });
}

/**
 * Computes the filter gradient of sum(conv2d(x, w) * r) with plain loops, from the definition of
 * an NHWC convolution with stride 1 and top/left padding.
 */
function referenceFilterGradient(
  x: Float32Array,
  xShape: Shape4,
  r: Float32Array,
  rShape: readonly number[],
  filterShape: Shape4,
  padTop: number,
  padLeft: number
): Float32Array {
  const [batch, height, width, channels] = xShape;
  const [, outHeight = 0, outWidth = 0, outChannels = 0] = rShape;
  const [filterHeight, filterWidth] = filterShape;
  const dw = new Float32Array(sizeOf(filterShape));
  for (let u = 0; u < filterHeight; u++) {
    for (let v = 0; v < filterWidth; v++) {
      for (let c = 0; c < channels; c++) {
        for (let o = 0; o < outChannels; o++) {
          let sum = 0;
          for (let b = 0; b < batch; b++) {
            for (let i = 0; i < outHeight; i++) {
              for (let j = 0; j < outWidth; j++) {
                const row = i + u - padTop;
                const column = j + v - padLeft;
                if (row < 0 || row >= height || column < 0 || column >= width) continue;
                const xValue = x[((b * height + row) * width + column) * channels + c]!;
                sum += xValue * r[((b * outHeight + i) * outWidth + j) * outChannels + o]!;
              }
            }
          }
          dw[((u * filterWidth + v) * channels + c) * outChannels + o] = sum;
        }
      }
    }
  }
  return dw;
}

interface MatMulCase {
  readonly a: number[];
  readonly b: number[];
  readonly transposeA: boolean;
  readonly transposeB: boolean;
}

const MATMUL_CASES: readonly MatMulCase[] = [
  { a: [64, 1600], b: [1600, 128], transposeA: false, transposeB: false },
  { a: [64, 128], b: [1600, 128], transposeA: false, transposeB: true },
  { a: [64, 1600], b: [64, 128], transposeA: true, transposeB: false },
  { a: [7, 5], b: [4, 7], transposeA: true, transposeB: true },
  { a: [3, 7, 5], b: [3, 7, 4], transposeA: true, transposeB: false },
  { a: [3, 5, 7], b: [1, 4, 7], transposeA: false, transposeB: true },
];

async function matMulOn(backend: string, matMulCase: MatMulCase): Promise<Float32Array> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const a = tf.tensor(randomValues(sizeOf(matMulCase.a), 4), matMulCase.a);
    const b = tf.tensor(randomValues(sizeOf(matMulCase.b), 5), matMulCase.b);
    return tf.matMul(a, b, matMulCase.transposeA, matMulCase.transposeB).dataSync() as Float32Array;
  });
}

describe('wasm matMul with transposes', () => {
  for (const matMulCase of MATMUL_CASES) {
    const name = `[${matMulCase.a}]${matMulCase.transposeA ? 'ᵀ' : ''} x [${matMulCase.b}]${matMulCase.transposeB ? 'ᵀ' : ''}`;
    test(`parity with cpu: ${name}`, async () => {
      const cpu = await matMulOn('cpu', matMulCase);
      const wasm = await matMulOn('wasm', matMulCase);

      assert.equal(wasm.length, cpu.length);
      assert.ok(maxAbsDifference(wasm, cpu) < 1e-4, `differs by ${maxAbsDifference(wasm, cpu)}`);
    });
  }

  test('matMul buffers are all disposed', async () => {
    await matMulOn('wasm', MATMUL_CASES[2]!);
    const buffers = tf.backend().numDataIds();

    await matMulOn('wasm', MATMUL_CASES[2]!);

    assert.equal(tf.backend().numDataIds(), buffers);
  });
});

interface PoolCase {
  readonly name: string;
  readonly input: Shape4;
  readonly filterSize: number | [number, number];
  readonly strides: number | [number, number];
  readonly pad: 'same' | 'valid';
  /** Fraction of inputs set to 0, so that windows have tied maxima as after a ReLU. */
  readonly zeros: number;
}

const POOL_CASES: readonly PoolCase[] = [
  {
    name: '2x2 stride 2',
    input: [4, 28, 28, 8],
    filterSize: 2,
    strides: 2,
    pad: 'valid',
    zeros: 0,
  },
  {
    name: 'ties of zeros',
    input: [2, 10, 10, 16],
    filterSize: 2,
    strides: 2,
    pad: 'valid',
    zeros: 0.7,
  },
  {
    name: 'odd size valid',
    input: [2, 9, 7, 3],
    filterSize: 2,
    strides: 2,
    pad: 'valid',
    zeros: 0.3,
  },
  {
    name: 'overlapping same',
    input: [2, 9, 7, 3],
    filterSize: 3,
    strides: 2,
    pad: 'same',
    zeros: 0.3,
  },
  {
    name: 'stride 1 same',
    input: [1, 6, 5, 2],
    filterSize: [2, 3],
    strides: 1,
    pad: 'same',
    zeros: 0.5,
  },
];

async function maxPoolGradient(backend: string, poolCase: PoolCase): Promise<Float32Array> {
  await tf.setBackend(backend);
  const random = seededRandom(6);
  const values = randomValues(sizeOf(poolCase.input), 7).map((value) =>
    random() < poolCase.zeros ? 0 : value
  );
  return tf.tidy(() => {
    const x = tf.tensor4d(values, poolCase.input);
    const outShape = tf.maxPool(x, poolCase.filterSize, poolCase.strides, poolCase.pad).shape;
    const r = tf.tensor(randomValues(sizeOf(outShape), 8), outShape);
    const dx = tf.grad((input: tf.Tensor) =>
      tf.sum(
        tf.mul(
          tf.maxPool(input as tf.Tensor4D, poolCase.filterSize, poolCase.strides, poolCase.pad),
          r
        )
      )
    )(x);
    return dx.dataSync() as Float32Array;
  });
}

describe('wasm maxPool gradient', () => {
  for (const poolCase of POOL_CASES) {
    test(`parity with cpu: ${poolCase.name}`, async () => {
      const cpu = await maxPoolGradient('cpu', poolCase);
      const wasm = await maxPoolGradient('wasm', poolCase);

      assert.equal(wasm.length, cpu.length);
      assert.ok(maxAbsDifference(wasm, cpu) < 1e-6, `differs by ${maxAbsDifference(wasm, cpu)}`);
    });
  }

  test('maxPool buffers are all disposed', async () => {
    await maxPoolGradient('wasm', POOL_CASES[0]!);
    const buffers = tf.backend().numDataIds();

    await maxPoolGradient('wasm', POOL_CASES[0]!);

    assert.equal(tf.backend().numDataIds(), buffers);
  });
});

describe('wasm convolution gradients', () => {
  test('kernels registered after initBackend', () => {
    for (const kernelName of WASM_GRADIENT_KERNELS) {
      assert.ok(tf.getKernel(kernelName, 'wasm'), `${kernelName} is not registered`);
    }
  });

  test('registering twice changes nothing', () => {
    const before = WASM_GRADIENT_KERNELS.map((name) => tf.getKernel(name, 'wasm'));

    assert.deepEqual(registerWasmGradientKernels(), []);
    const after = WASM_GRADIENT_KERNELS.map((name) => tf.getKernel(name, 'wasm'));
    assert.deepEqual(after, before);
  });

  for (const convCase of CASES) {
    test(`parity with cpu: ${convCase.name}`, async () => {
      const cpu = await convGradients('cpu', convCase);
      const wasm = await convGradients('wasm', convCase);

      assert.ok(
        maxAbsDifference(wasm.dw, cpu.dw) < 1e-4,
        `filter gradient differs by ${maxAbsDifference(wasm.dw, cpu.dw)}`
      );
      assert.ok(
        maxAbsDifference(wasm.dx, cpu.dx) < 1e-4,
        `input gradient differs by ${maxAbsDifference(wasm.dx, cpu.dx)}`
      );
    });
  }

  test('filter gradient matches loop reference', async () => {
    const convCase = CASES.find((c) => c.name === 'explicit padding')!;
    const wasm = await convGradients('wasm', convCase);
    const x = randomValues(sizeOf(convCase.input), 1);
    const r = randomValues(sizeOf(wasm.dyShape), 3);

    const reference = referenceFilterGradient(
      x,
      convCase.input,
      r,
      wasm.dyShape,
      convCase.filter,
      1,
      0
    );

    assert.ok(maxAbsDifference(wasm.dw, reference) < 1e-4);
  });

  test('gradient tensors are all disposed', async () => {
    await tf.setBackend('wasm');
    const convCase = CASES.find((c) => c.name === 'same stride 1')!;
    await convGradients('wasm', convCase);
    const tensors = tf.memory().numTensors;
    const buffers = tf.backend().numDataIds();

    await convGradients('wasm', convCase);

    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(tf.backend().numDataIds(), buffers);
  });

  test('input gradient plan covers stride 1', () => {
    assert.deepEqual(planInputGradient([1, 28, 28, 1], [5, 5, 1, 8], 1, 'same'), {
      padTop: 2,
      padBottom: 2,
      padLeft: 2,
      padRight: 2,
    });
    assert.deepEqual(planInputGradient([1, 14, 14, 8], [5, 5, 8, 8], 1, 'valid'), {
      padTop: 4,
      padBottom: 4,
      padLeft: 4,
      padRight: 4,
    });
  });

  test('input gradient plan rejects stride 2', () => {
    assert.equal(planInputGradient([1, 28, 28, 1], [5, 5, 1, 8], 2, 'same'), undefined);
  });

  test('input gradient plan rejects wide padding', () => {
    const pad: Padding = [
      [0, 0],
      [3, 0],
      [0, 0],
      [0, 0],
    ];
    assert.equal(planInputGradient([1, 8, 8, 1], [3, 3, 1, 2], 1, pad), undefined);
  });
});
