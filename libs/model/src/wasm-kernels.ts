import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

// Gradient kernels for the tfjs WebAssembly backend that run on the backend's fast XNNPACK
// paths. tfjs 4.22 registers no Conv2DBackpropFilter for 'wasm', so no CNN can train there
// without ours. Its Conv2DBackpropInput is a direct loop: with the 'lenet' model at batch 64 it
// took about 7 times as long as both forward convolutions together (tf.profile, one core). Its
// BatchMatMul with a transposed operand, which every dense layer's backward pass uses, took 7 to
// 12 times as long as an explicit transpose followed by the untransposed product, and its
// MaxPoolGrad took about as long as both forward convolutions of 'lenet'.

const WASM = 'wasm';

type KernelArgs = Parameters<tf.KernelFunc>[0];

/** Names of the kernels that `registerWasmGradientKernels` registers. */
export const WASM_GRADIENT_KERNELS: readonly string[] = [
  tf.Conv2DBackpropFilter,
  tf.Conv2DBackpropInput,
  tf.BatchMatMul,
  tf.MaxPoolGrad,
];

/** tfjs's own 'wasm' kernels that ours replace, by name, kept for the cases ours pass on. */
const nativeKernels = new Map<string, tf.KernelConfig>();

/**
 * Registers the project's gradient kernels for the 'wasm' backend. Call it after
 * `@tensorflow/tfjs-backend-wasm` is loaded. A Conv2DBackpropFilter that tfjs already registers
 * is kept. Conv2DBackpropInput, BatchMatMul and MaxPoolGrad replace tfjs's kernels, and the
 * first two call them for the cases that need no rewriting. Repeated calls change nothing. Returns the names registered by
 * this call.
 */
export function registerWasmGradientKernels(): string[] {
  const registered: string[] = [];
  if (tf.getKernel(tf.Conv2DBackpropFilter, WASM) === undefined) {
    tf.registerKernel({
      kernelName: tf.Conv2DBackpropFilter,
      backendName: WASM,
      kernelFunc: conv2DBackpropFilter as unknown as tf.KernelFunc,
    });
    registered.push(tf.Conv2DBackpropFilter);
  }
  for (const [kernelName, kernelFunc] of [
    [tf.Conv2DBackpropInput, conv2DBackpropInput],
    [tf.BatchMatMul, batchMatMul],
    [tf.MaxPoolGrad, maxPoolGrad],
  ] as const) {
    if (replaceNativeKernel(kernelName, kernelFunc as unknown as tf.KernelFunc)) {
      registered.push(kernelName);
    }
  }
  return registered;
}

/** Registers `kernelFunc` in place of the current 'wasm' kernel, unless it is already there. */
function replaceNativeKernel(kernelName: string, kernelFunc: tf.KernelFunc): boolean {
  const current = tf.getKernel(kernelName, WASM);
  if (current?.kernelFunc === kernelFunc) return false;
  if (current !== undefined) {
    nativeKernels.set(kernelName, current);
    // Unregister first: registerKernel would print a warning when it replaces a kernel.
    tf.unregisterKernel(kernelName, WASM);
  }
  tf.registerKernel({
    kernelName,
    backendName: WASM,
    kernelFunc,
    // The native kernel's wasm function is bound by its setup when a wasm backend initializes.
    ...(current?.setupFunc === undefined ? {} : { setupFunc: current.setupFunc }),
  });
  return true;
}

/** Calls tfjs's own 'wasm' kernel that ours replaced. */
function runNativeKernel(kernelName: string, args: unknown, unsupported: string): tf.TensorInfo {
  const native = nativeKernels.get(kernelName);
  if (native === undefined) {
    throw new Error(
      `${kernelName} on the wasm backend: ${unsupported}, and tfjs has no kernel for it`
    );
  }
  return native.kernelFunc(args as KernelArgs) as tf.TensorInfo;
}

/**
 * Multiplies batches of matrices on the WebAssembly backend. An operand to be used transposed
 * is transposed explicitly first, because tfjs 4.22 sends transposed products to a slow loop
 * instead of XNNPACK.
 */
export function batchMatMul(args: {
  inputs: tf.BatchMatMulInputs;
  backend: BackendWasm;
  attrs: tf.BatchMatMulAttrs;
}): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  if (!attrs.transposeA && !attrs.transposeB) {
    return runNativeKernel(tf.BatchMatMul, args, 'no kernel was registered before ours');
  }
  const a = inputs.a as tf.TensorInfo;
  const b = inputs.b as tf.TensorInfo;
  const temporaries: tf.TensorInfo[] = [];
  try {
    const left = attrs.transposeA ? swapLastAxes(a, backend) : a;
    if (left !== a) temporaries.push(left);
    const right = attrs.transposeB ? swapLastAxes(b, backend) : b;
    if (right !== b) temporaries.push(right);
    return runNativeKernel(
      tf.BatchMatMul,
      {
        inputs: { a: left, b: right },
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      },
      'no kernel was registered before ours'
    );
  } finally {
    for (const tensor of temporaries) backend.disposeData(tensor.dataId);
  }
}

/**
 * Computes the gradient of 2-D max pooling on the WebAssembly backend, in one pass over the
 * pooling windows: each output's gradient goes to the first largest input of its window, in
 * row-major window order, as in tfjs's cpu kernel. Windows may overlap, and a window whose
 * inputs are all NaN or -Infinity passes no gradient on.
 */
export function maxPoolGrad(args: {
  inputs: tf.MaxPoolGradInputs;
  backend: BackendWasm;
  attrs: tf.MaxPoolGradAttrs;
}): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.input as tf.TensorInfo;
  const dy = inputs.dy as tf.TensorInfo;
  const info = tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;

  const dx = backend.makeOutput([...x.shape], 'float32');
  // Views taken after makeOutput, because an allocation can grow the heap and detach them.
  const xValues = backend.typedArrayFromHeap(x);
  const dyValues = backend.typedArrayFromHeap(dy);
  const dxValues = backend.typedArrayFromHeap(dx);
  dxValues.fill(0);
  const maxValues = new Float32Array(inChannels);
  const maxPositions = new Int32Array(inChannels);
  for (let b = 0; b < batchSize; b++) {
    for (let outRow = 0; outRow < outHeight; outRow++) {
      const rowStart = Math.max(outRow * strideHeight - top, 0);
      const rowEnd = Math.min(outRow * strideHeight - top + filterHeight, inHeight);
      for (let outColumn = 0; outColumn < outWidth; outColumn++) {
        const columnStart = Math.max(outColumn * strideWidth - left, 0);
        const columnEnd = Math.min(outColumn * strideWidth - left + filterWidth, inWidth);
        maxValues.fill(-Infinity);
        maxPositions.fill(-1);
        for (let row = rowStart; row < rowEnd; row++) {
          for (let column = columnStart; column < columnEnd; column++) {
            const base = ((b * inHeight + row) * inWidth + column) * inChannels;
            for (let channel = 0; channel < inChannels; channel++) {
              const value = xValues[base + channel]!;
              if (value > maxValues[channel]!) {
                maxValues[channel] = value;
                maxPositions[channel] = base + channel;
              }
            }
          }
        }
        const outBase = ((b * outHeight + outRow) * outWidth + outColumn) * inChannels;
        for (let channel = 0; channel < inChannels; channel++) {
          const position = maxPositions[channel]!;
          if (position >= 0) {
            dxValues[position] = dxValues[position]! + dyValues[outBase + channel]!;
          }
        }
      }
    }
  }
  return dx;
}

function swapLastAxes(x: tf.TensorInfo, backend: BackendWasm): tf.TensorInfo {
  const rank = x.shape.length;
  const perm = Array.from({ length: rank }, (_, axis) => axis);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return runWasmKernel(tf.Transpose, backend, { x }, { perm });
}

/**
 * Computes the gradient of a 2-D convolution with respect to its filter, on the WebAssembly
 * backend, as another forward convolution.
 *
 * With stride s, dilation 1 and top/left padding p, the forward pass is
 *   y[b, i, j, o] = Σ_{u, v, c} x[b, i·s + u − p_t, j·s + v − p_l, c] · w[u, v, c, o],
 * so the filter gradient is
 *   dw[u, v, c, o] = Σ_{b, i, j} x[b, u + i·s − p_t, v + j·s − p_l, c] · dy[b, i, j, o].
 * Read x' = x transposed to [c, H, W, b] as a batch of c images with b channels, and
 * dy' = dy transposed to [outH, outW, b, o] as a filter. Then the right-hand side is the
 * convolution of x' with dy' at stride 1, dilation s and the same top/left padding,
 * evaluated at output position (u, v) of image c, so dw = transpose(conv, [1, 2, 0, 3]).
 * The bottom/right padding makes the convolution's output exactly filterHeight x filterWidth.
 * Where that padding would be negative, the rows and columns of x that the forward pass never
 * read are cropped instead.
 */
export function conv2DBackpropFilter(args: {
  inputs: tf.Conv2DBackpropFilterInputs;
  backend: BackendWasm;
  attrs: tf.Conv2DBackpropFilterAttrs;
}): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as tf.TensorInfo;
  const dy = inputs.dy as tf.TensorInfo;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (dataFormat !== 'NHWC') {
    throw new Error(
      `Conv2DBackpropFilter on the wasm backend supports dataFormat 'NHWC', not '${dataFormat}'`
    );
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode
  );
  const { filterHeight, filterWidth, strideHeight, strideWidth, outHeight, outWidth } = info;
  const { top, left } = info.padInfo;
  const [, inHeight = 0, inWidth = 0] = x.shape;

  // Padding after x that gives filterHeight x filterWidth outputs. A negative value counts the
  // trailing rows or columns of x that the forward pass never read.
  const bottom = filterHeight + (outHeight - 1) * strideHeight - inHeight - top;
  const right = filterWidth + (outWidth - 1) * strideWidth - inWidth - left;

  const temporaries: tf.TensorInfo[] = [];
  try {
    let xT = runWasmKernel(tf.Transpose, backend, { x }, { perm: [3, 1, 2, 0] });
    temporaries.push(xT);
    if (bottom < 0 || right < 0) {
      const [channels = 0, , , batch = 0] = xT.shape;
      xT = runWasmKernel(
        tf.Slice,
        backend,
        { x: xT },
        {
          begin: [0, 0, 0, 0],
          size: [channels, inHeight + Math.min(bottom, 0), inWidth + Math.min(right, 0), batch],
        }
      );
      temporaries.push(xT);
    }
    const dyT = runWasmKernel(tf.Transpose, backend, { x: dy }, { perm: [1, 2, 0, 3] });
    temporaries.push(dyT);
    const conv = runWasmKernel(
      tf.Conv2D,
      backend,
      { x: xT, filter: dyT },
      {
        strides: [1, 1],
        dilations: [strideHeight, strideWidth],
        pad: [
          [0, 0],
          [top, Math.max(bottom, 0)],
          [left, Math.max(right, 0)],
          [0, 0],
        ],
        dataFormat: 'NHWC',
      }
    );
    temporaries.push(conv);
    return runWasmKernel(tf.Transpose, backend, { x: conv }, { perm: [1, 2, 0, 3] });
  } finally {
    for (const tensor of temporaries) backend.disposeData(tensor.dataId);
  }
}

/** Calls the kernel that the wasm backend registered under `kernelName`. */
function runWasmKernel(
  kernelName: string,
  backend: BackendWasm,
  inputs: Record<string, tf.TensorInfo>,
  attrs: Record<string, unknown>
): tf.TensorInfo {
  const kernel = tf.getKernel(kernelName, WASM);
  if (kernel === undefined) {
    // Worded as tfjs's engine words it, so that checkTrainable names the kernel.
    throw new Error(`Kernel '${kernelName}' not registered for backend '${WASM}'`);
  }
  return kernel.kernelFunc({
    inputs,
    backend,
    attrs: attrs as KernelArgs['attrs'],
  }) as tf.TensorInfo;
}

/**
 * Computes the gradient of a 2-D convolution with respect to its input, on the WebAssembly
 * backend, as another forward convolution. Covers stride 1 with at most filterSize − 1 padding
 * on each side, which includes 'valid' and 'same'. Other cases go to tfjs's own kernel.
 *
 * With stride 1 the forward pass is y[b, i, j, o] = Σ_{u, v, c} x[b, i + u − p_t, j + v − p_l, c]
 * · w[u, v, c, o], so
 *   dx[b, h, w, c] = Σ_{u, v, o} dy[b, h + p_t − u, w + p_l − v, o] · w[u, v, c, o].
 * Substituting u' = filterHeight − 1 − u (and v' likewise) turns this into the convolution of dy
 * with the filter rotated by 180 degrees and transposed to [filterHeight, filterWidth, o, c],
 * with top padding filterHeight − 1 − p_t and left padding filterWidth − 1 − p_l. The
 * bottom/right padding makes the output exactly inHeight x inWidth.
 */
export function conv2DBackpropInput(args: {
  inputs: tf.Conv2DBackpropInputInputs;
  backend: BackendWasm;
  attrs: tf.Conv2DBackpropInputAttrs;
}): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy as tf.TensorInfo;
  const filter = inputs.filter as tf.TensorInfo;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  const fallback = () =>
    runNativeKernel(
      tf.Conv2DBackpropInput,
      args,
      `only stride 1, dataFormat 'NHWC' and padding up to the filter size minus 1 are ` +
        `implemented (strides ${JSON.stringify(strides)}, pad ${JSON.stringify(pad)}, ` +
        `dataFormat '${dataFormat}')`
    );
  const padding =
    dataFormat === 'NHWC'
      ? planInputGradient(
          inputShape,
          filter.shape as [number, number, number, number],
          strides,
          pad,
          dimRoundingMode
        )
      : undefined;
  if (padding === undefined) return fallback();
  const { padTop, padBottom, padLeft, padRight } = padding;

  const temporaries: tf.TensorInfo[] = [];
  try {
    const transposed = runWasmKernel(tf.Transpose, backend, { x: filter }, { perm: [0, 1, 3, 2] });
    temporaries.push(transposed);
    const rotated = runWasmKernel(tf.Reverse, backend, { x: transposed }, { dims: [0, 1] });
    temporaries.push(rotated);
    return runWasmKernel(
      tf.Conv2D,
      backend,
      { x: dy, filter: rotated },
      {
        strides: [1, 1],
        dilations: [1, 1],
        pad: [
          [0, 0],
          [padTop, padBottom],
          [padLeft, padRight],
          [0, 0],
        ],
        dataFormat: 'NHWC',
      }
    );
  } finally {
    for (const tensor of temporaries) backend.disposeData(tensor.dataId);
  }
}

/** Padding of the forward convolution that computes an input gradient. */
export interface InputGradientPadding {
  readonly padTop: number;
  readonly padBottom: number;
  readonly padLeft: number;
  readonly padRight: number;
}

/**
 * Returns the padding with which `conv2DBackpropInput` computes the input gradient of an NHWC
 * convolution as a forward convolution. Returns undefined when the stride is not 1, or when the
 * forward padding exceeds the filter size minus 1, which would need a negative padding.
 */
export function planInputGradient(
  inputShape: readonly [number, number, number, number],
  filterShape: readonly [number, number, number, number],
  strides: [number, number] | number,
  pad: tf.Conv2DBackpropInputAttrs['pad'],
  dimRoundingMode?: 'floor' | 'round' | 'ceil'
): InputGradientPadding | undefined {
  const info = tf.backend_util.computeConv2DInfo(
    [...inputShape],
    [...filterShape],
    strides,
    1,
    pad,
    dimRoundingMode
  );
  const { filterHeight, filterWidth, strideHeight, strideWidth, outHeight, outWidth } = info;
  if (strideHeight !== 1 || strideWidth !== 1) return undefined;
  const [, inHeight, inWidth] = inputShape;
  const padTop = filterHeight - 1 - info.padInfo.top;
  const padLeft = filterWidth - 1 - info.padInfo.left;
  const padBottom = inHeight + filterHeight - 1 - outHeight - padTop;
  const padRight = inWidth + filterWidth - 1 - outWidth - padLeft;
  if (Math.min(padTop, padBottom, padLeft, padRight) < 0) return undefined;
  return { padTop, padBottom, padLeft, padRight };
}
