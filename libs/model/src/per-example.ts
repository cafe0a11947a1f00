import * as tf from '@tensorflow/tfjs';
import type { ClassifierShape } from './classifier';
import { forwardCrossEntropy } from './classifier';

// Per-example gradient clipping for DP-SGD. The closed form needs, for every layer with
// weights, the layer's input a and the gradient delta of the loss with respect to the layer's
// pre-activation output z. One backward pass gives both for all examples at once, because each
// example's loss depends only on its own row of z.

/** Method by which `clippedGradientSum` computes per-example gradients. */
export type PerExampleMethod = 'closed-form' | 'micro-batch';

/** Dense layer on [batch, features] inputs: z = a W + b. */
interface DenseStep {
  readonly kind: 'dense';
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable | undefined;
  readonly units: number;
  /** Activation after z; undefined for 'linear'. */
  readonly activation: tf.layers.Layer | undefined;
}

/** 2-D convolution, channels last, dilation 1: z = conv(a, W) + b. */
interface ConvStep {
  readonly kind: 'conv2d';
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable | undefined;
  readonly kernelSize: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly padding: 'same' | 'valid';
  /** Output shape without the batch dimension: [height, width, filters]. */
  readonly outputShape: readonly [number, number, number];
  readonly activation: tf.layers.Layer | undefined;
}

/** Layer without trainable weights, run as it is. */
interface ApplyStep {
  readonly kind: 'apply';
  readonly layer: tf.layers.Layer;
}

type Step = DenseStep | ConvStep | ApplyStep;
type WeightedStep = DenseStep | ConvStep;

/**
 * A model seen as a chain of layers, for the closed form. The final softmax is left out: the
 * loss is computed from the logits, or from the probabilities when `fusedSoftmax` is set.
 */
export interface LayerChain {
  readonly steps: readonly Step[];
  /** True when the last layer with weights applies the softmax itself. */
  readonly fusedSoftmax: boolean;
}

/** Result of `clippedGradientSum`. */
export interface ClippedGradients {
  /** Sum over the batch of the clipped per-example gradients, one per trainable variable. */
  readonly sums: Float32Array[];
  /** L2 norm of each example's gradient over all trainable variables, before clipping. */
  readonly norms: Float32Array;
  /** Cross-entropy of each example before the update. */
  readonly losses: Float32Array;
}

/**
 * Describes `model` as a chain of Dense, Conv2D and weightless layers. Returns the reason that
 * the closed form does not apply instead when the model has another layer with trainable
 * weights, a branch, a shared layer, a dilated or channels-first convolution, or a Dense layer
 * on inputs of rank above 2. Such models need the micro-batch method.
 */
export function describeLayerChain(model: tf.LayersModel): LayerChain | string {
  const layers = model.layers;
  const steps: Step[] = [];
  let fusedSoftmax = false;
  let endsWithSoftmax = false;
  // A functional model lists its input layer first, a Sequential model leaves it out.
  let previous: tf.layers.Layer | undefined;
  for (let index = 0; index < layers.length; index++) {
    const layer = layers[index]!;
    const className = layer.getClassName();
    if (className === 'InputLayer') {
      if (index !== 0) return `input layer '${layer.name}' is not the first layer`;
      previous = layer;
      continue;
    }
    const inbound = layer.inboundNodes;
    const source = inbound.length === 1 ? inbound[0]!.inboundLayers : [];
    const sourceLayer = source.length === 1 ? source[0] : undefined;
    const chained =
      previous === undefined
        ? sourceLayer?.getClassName() === 'InputLayer'
        : sourceLayer === previous;
    if (!chained) {
      return `layer '${layer.name}' does not take the previous layer's output as its only input`;
    }
    previous = layer;
    const config = layer.getConfig();
    const isLast = index === layers.length - 1;
    if (isLast && className === 'Activation' && config['activation'] === 'softmax') {
      endsWithSoftmax = true;
      break;
    }
    if (layer.trainableWeights.length === 0) {
      steps.push({ kind: 'apply', layer });
      continue;
    }

    const activationName = String(config['activation'] ?? 'linear');
    fusedSoftmax = isLast && activationName === 'softmax';
    endsWithSoftmax = fusedSoftmax;
    const activation =
      activationName === 'linear' || fusedSoftmax
        ? undefined
        : tf.layers.activation({ activation: activationName as 'relu' });
    const kernel = findVariable(layer, 'kernel');
    const bias = findVariable(layer, 'bias');
    const otherWeights = layer.trainableWeights.length - 1 - (bias === undefined ? 0 : 1);
    if (kernel === undefined || otherWeights !== 0) {
      return `layer '${layer.name}' has trainable weights other than a kernel and a bias`;
    }

    if (className === 'Dense') {
      const rank = (layer.input as tf.SymbolicTensor).shape.length;
      if (rank !== 2) return `Dense layer '${layer.name}' has inputs of rank ${rank}`;
      steps.push({ kind: 'dense', kernel, bias, units: Number(config['units']), activation });
    } else if (className === 'Conv2D') {
      const step = describeConvolution(layer, config, kernel, bias, activation);
      if (typeof step === 'string') return step;
      steps.push(step);
    } else {
      return `layer '${layer.name}' of class ${className} has weights and no closed form`;
    }
  }
  if (!endsWithSoftmax) return 'the last layer does not apply a softmax';
  return { steps, fusedSoftmax };
}

function findVariable(layer: tf.layers.Layer, suffix: string): tf.Variable | undefined {
  const weight = layer.trainableWeights.find((w) => w.originalName.endsWith(`/${suffix}`));
  return weight === undefined ? undefined : (weight.read() as tf.Variable);
}

function describeConvolution(
  layer: tf.layers.Layer,
  config: tf.serialization.ConfigDict,
  kernel: tf.Variable,
  bias: tf.Variable | undefined,
  activation: tf.layers.Layer | undefined
): ConvStep | string {
  const pair = (value: unknown): [number, number] =>
    Array.isArray(value) ? [Number(value[0]), Number(value[1])] : [Number(value), Number(value)];
  const dilation = pair(config['dilationRate'] ?? 1);
  const padding = config['padding'];
  if (config['dataFormat'] !== 'channelsLast') {
    return `Conv2D layer '${layer.name}' is not channels-last`;
  }
  if (dilation[0] !== 1 || dilation[1] !== 1) {
    return `Conv2D layer '${layer.name}' is dilated`;
  }
  if (padding !== 'same' && padding !== 'valid') {
    return `Conv2D layer '${layer.name}' has padding '${String(padding)}'`;
  }
  const output = layer.outputShape as (number | null)[];
  const [height, width, filters] = [output[1], output[2], output[3]];
  if (typeof height !== 'number' || typeof width !== 'number' || typeof filters !== 'number') {
    return `Conv2D layer '${layer.name}' has no fixed output shape`;
  }
  return {
    kind: 'conv2d',
    kernel,
    bias,
    kernelSize: pair(config['kernelSize']),
    strides: pair(config['strides'] ?? 1),
    padding,
    outputShape: [height, width, filters],
    activation,
  };
}

/**
 * Computes the per-example gradients of the softmax cross-entropy over all trainable
 * variables, clips each example's gradient to L2 norm `clipNorm` (scaling it by
 * min(1, clipNorm / norm)) and returns their sum with the norms before clipping.
 *
 * 'closed-form' needs a `chain` and costs about one backward pass. 'micro-batch' runs one
 * backward pass per example and works for every model.
 */
export function clippedGradientSum(
  model: tf.LayersModel,
  shape: ClassifierShape,
  chain: LayerChain | undefined,
  variables: readonly tf.Variable[],
  x: Float32Array,
  labels: Uint8Array,
  clipNorm: number,
  method: PerExampleMethod
): ClippedGradients {
  if (method === 'closed-form') {
    if (chain === undefined) throw new Error('the closed form needs a layer chain');
    return closedForm(chain, shape, variables, x, labels, clipNorm);
  }
  return microBatch(model, shape, variables, x, labels, clipNorm);
}

/** Computes per-example norms and clipped sums from one forward and one backward pass. */
function closedForm(
  chain: LayerChain,
  shape: ClassifierShape,
  variables: readonly tf.Variable[],
  x: Float32Array,
  labels: Uint8Array,
  clipNorm: number
): ClippedGradients {
  const batchSize = labels.length;
  const weighted = chain.steps.filter((step): step is WeightedStep => step.kind !== 'apply');
  const kept: tf.Tensor[] = [];
  let result: ClippedGradients | undefined;
  try {
    // The tidy returns nothing: walking typed arrays in its result would cost more than the step.
    tf.tidy(() => {
      const { inputs, deltas, losses } = backwardToLayerOutputs(chain, shape, x, labels, kept);
      const layerGradients = weighted.map((step, index) =>
        perExampleGradients(step, inputs[index]!, deltas[index]!)
      );
      let squaredNorms: tf.Tensor1D = tf.zeros([batchSize]);
      for (const gradients of layerGradients) {
        squaredNorms = tf.add(squaredNorms, gradients.squaredNorms);
      }
      const norms = tf.sqrt(squaredNorms);
      const factors = clipFactors(norms, clipNorm);

      const sumsByVariable = new Map<tf.Variable, tf.Tensor>();
      layerGradients.forEach((gradients, index) => {
        const step = weighted[index]!;
        sumsByVariable.set(step.kernel, gradients.clippedKernelSum(factors));
        if (step.bias !== undefined) {
          sumsByVariable.set(step.bias, gradients.clippedBiasSum(factors));
        }
      });
      result = {
        sums: variables.map((variable) => {
          const sum = sumsByVariable.get(variable);
          if (sum === undefined) throw new Error(`variable '${variable.name}' is not in the chain`);
          return copyData(sum);
        }),
        norms: copyData(norms),
        losses: copyData(losses),
      };
    });
  } finally {
    for (const tensor of kept) tensor.dispose();
  }
  return result!;
}

/** Copies the tensor's values, because callers add noise in place and backends may share buffers. */
function copyData(tensor: tf.Tensor): Float32Array {
  return (tensor.dataSync() as Float32Array).slice();
}

/**
 * Runs the chain forward and back once, and returns each weighted layer's input a, the
 * gradient delta of the summed loss with respect to its pre-activation output z, and the
 * per-example losses. Zero probes are added to each z, so the gradient with respect to a probe
 * is the gradient with respect to that z. Tensors created inside `tf.grads` are pushed to
 * `kept`, and the caller disposes them.
 */
function backwardToLayerOutputs(
  chain: LayerChain,
  shape: ClassifierShape,
  x: Float32Array,
  labels: Uint8Array,
  kept: tf.Tensor[]
): { inputs: tf.Tensor[]; deltas: tf.Tensor[]; losses: tf.Tensor1D } {
  const batchSize = labels.length;
  const images = tf.tensor(x, [batchSize, ...shape.inputShape], 'float32');
  const oneHot = tf.oneHot(tf.tensor1d(Int32Array.from(labels), 'int32'), shape.classCount);
  const probes = chain.steps.flatMap((step) => {
    if (step.kind === 'apply') return [];
    const outputShape = step.kind === 'dense' ? [step.units] : step.outputShape;
    return [tf.zeros([batchSize, ...outputShape])];
  });
  const inputs: tf.Tensor[] = [];
  let losses: tf.Tensor1D | undefined;
  const deltas = tf.grads((...probeArgs: tf.Tensor[]) => {
    const logits = forwardChain(chain, images, probeArgs, (input) => {
      inputs.push(tf.keep(input));
      kept.push(input);
    });
    losses = tf.keep(perExampleLoss(logits, oneHot, chain.fusedSoftmax));
    kept.push(losses);
    return tf.sum(losses);
  })(probes);
  return { inputs, deltas, losses: losses! };
}

/** Runs the chain up to the logits, adding `probes[k]` to the k-th layer's z. */
function forwardChain(
  chain: LayerChain,
  images: tf.Tensor,
  probes: readonly tf.Tensor[],
  recordInput: (input: tf.Tensor) => void
): tf.Tensor2D {
  let activations = images;
  let probeIndex = 0;
  for (const step of chain.steps) {
    if (step.kind === 'apply') {
      activations = step.layer.apply(activations, { training: true }) as tf.Tensor;
      continue;
    }
    recordInput(activations);
    let z =
      step.kind === 'dense'
        ? tf.matMul(activations as tf.Tensor2D, step.kernel as tf.Tensor2D)
        : tf.conv2d(
            activations as tf.Tensor4D,
            step.kernel as tf.Tensor4D,
            step.strides as [number, number],
            step.padding
          );
    if (step.bias !== undefined) z = tf.add(z, step.bias);
    z = tf.add(z, probes[probeIndex]!);
    probeIndex++;
    activations = step.activation === undefined ? z : (step.activation.apply(z) as tf.Tensor);
  }
  return activations as tf.Tensor2D;
}

/** Matches `forwardCrossEntropy`: softmax cross-entropy of the logits, or of clipped probabilities. */
function perExampleLoss(
  logits: tf.Tensor2D,
  oneHot: tf.Tensor,
  fusedSoftmax: boolean
): tf.Tensor1D {
  if (!fusedSoftmax) {
    return tf.losses.softmaxCrossEntropy(
      oneHot,
      logits,
      undefined,
      undefined,
      tf.Reduction.NONE
    ) as tf.Tensor1D;
  }
  const probabilities = tf.softmax(logits);
  const logProbabilities = tf.log(tf.clipByValue(probabilities, 1e-7, 1));
  return tf.neg(tf.sum(tf.mul(oneHot, logProbabilities), 1)) as tf.Tensor1D;
}

/** min(1, clipNorm / norm), and 1 for a zero gradient. */
function clipFactors(norms: tf.Tensor1D, clipNorm: number): tf.Tensor1D {
  return tf.div(clipNorm, tf.maximum(norms, clipNorm)) as tf.Tensor1D;
}

interface LayerGradients {
  readonly squaredNorms: tf.Tensor1D;
  clippedKernelSum(factors: tf.Tensor1D): tf.Tensor;
  clippedBiasSum(factors: tf.Tensor1D): tf.Tensor;
}

function perExampleGradients(
  step: WeightedStep,
  input: tf.Tensor,
  delta: tf.Tensor
): LayerGradients {
  return step.kind === 'dense'
    ? denseGradients(step, input as tf.Tensor2D, delta as tf.Tensor2D)
    : convGradients(step, input as tf.Tensor4D, delta as tf.Tensor4D);
}

/**
 * Dense layer: example i's kernel gradient is the outer product a_i^T delta_i, whose squared
 * Frobenius norm is |a_i|^2 |delta_i|^2, and its bias gradient is delta_i. The clipped sum of
 * the outer products is a^T (c * delta), one matrix product.
 */
function denseGradients(step: DenseStep, input: tf.Tensor2D, delta: tf.Tensor2D): LayerGradients {
  const inputSquares = tf.sum(tf.square(input), 1);
  const deltaSquares = tf.sum(tf.square(delta), 1);
  let squaredNorms = tf.mul(inputSquares, deltaSquares) as tf.Tensor1D;
  if (step.bias !== undefined) squaredNorms = tf.add(squaredNorms, deltaSquares);
  const scaled = (factors: tf.Tensor1D) => tf.mul(delta, tf.expandDims(factors, 1));
  return {
    squaredNorms,
    clippedKernelSum: (factors) => tf.matMul(input, scaled(factors), true, false),
    clippedBiasSum: (factors) => tf.sum(scaled(factors), 0),
  };
}

/**
 * Conv2D layer: example i's kernel gradient is G_i[dy, dx, c, o] = sum over output positions
 * (y, x) of a_i[s y + dy, s x + dx, c] delta_i[y, x, o] for stride s, on the padded input. That
 * is a depthwise convolution of the inputs, with examples as channels, by the deltas as
 * filters, dilated by s, so one depthwiseConv2d op computes G for all examples: with inputs as
 * [cin, height, width, batch] and deltas as [outHeight, outWidth, batch, filters], its output
 * [cin, kh, kw, batch * filters] contains G_i at channel i * filters + o. The bias gradient is
 * delta_i summed over positions.
 */
function convGradients(step: ConvStep, input: tf.Tensor4D, delta: tf.Tensor4D): LayerGradients {
  const batchSize = input.shape[0];
  const channels = input.shape[3];
  const [kernelHeight, kernelWidth] = step.kernelSize;
  const filters = step.outputShape[2];
  const padded = padForKernel(input, step);
  const images = tf.transpose(padded, [3, 1, 2, 0]);
  const deltaFilters = tf.transpose(delta, [1, 2, 0, 3]);
  const perExample = tf.depthwiseConv2d(images, deltaFilters, 1, 'valid', 'NHWC', [
    step.strides[0],
    step.strides[1],
  ]);
  // Rows are kernel elements in [cin, kh, kw] order; the middle axis is the example.
  const kernelElements = channels * kernelHeight * kernelWidth;
  const gradients = tf.reshape(perExample, [kernelElements, batchSize, filters]);
  let squaredNorms = tf.sum(tf.square(gradients), [0, 2]) as tf.Tensor1D;
  const biasGradients = tf.sum(delta, [1, 2]);
  if (step.bias !== undefined) {
    squaredNorms = tf.add(squaredNorms, tf.sum(tf.square(biasGradients), 1));
  }
  return {
    squaredNorms,
    clippedKernelSum: (factors) => {
      const weighted = tf.sum(tf.mul(gradients, tf.reshape(factors, [1, batchSize, 1])), 1);
      const byInputChannel = tf.reshape(weighted, [channels, kernelHeight, kernelWidth, filters]);
      return tf.transpose(byInputChannel, [1, 2, 0, 3]);
    },
    clippedBiasSum: (factors) => tf.sum(tf.mul(biasGradients, tf.expandDims(factors, 1)), 0),
  };
}

/**
 * Pads the input as the convolution does, and crops the rows and columns that no output
 * position reads, so that the depthwise convolution yields exactly kh x kw positions. 'same'
 * padding splits the total as TensorFlow does, with the extra row or column at the bottom or
 * right.
 */
function padForKernel(input: tf.Tensor4D, step: ConvStep): tf.Tensor4D {
  const [batchSize, height, width, channels] = input.shape;
  const [kernelHeight, kernelWidth] = step.kernelSize;
  const [strideY, strideX] = step.strides;
  const [outHeight, outWidth] = step.outputShape;
  const neededHeight = (outHeight - 1) * strideY + kernelHeight;
  const neededWidth = (outWidth - 1) * strideX + kernelWidth;
  let padded = input;
  if (step.padding === 'same') {
    const padY = Math.max(neededHeight - height, 0);
    const padX = Math.max(neededWidth - width, 0);
    const top = Math.floor(padY / 2);
    const left = Math.floor(padX / 2);
    padded = tf.pad(input, [
      [0, 0],
      [top, padY - top],
      [left, padX - left],
      [0, 0],
    ]);
  }
  if (padded.shape[1] === neededHeight && padded.shape[2] === neededWidth) return padded;
  return tf.slice(padded, [0, 0, 0, 0], [batchSize, neededHeight, neededWidth, channels]);
}

/** Runs one backward pass per example, for models without a closed form and as its reference. */
function microBatch(
  model: tf.LayersModel,
  shape: ClassifierShape,
  variables: readonly tf.Variable[],
  x: Float32Array,
  labels: Uint8Array,
  clipNorm: number
): ClippedGradients {
  const batchSize = labels.length;
  const sums = variables.map((variable) => new Float32Array(variable.size));
  const norms = new Float32Array(batchSize);
  const losses = new Float32Array(batchSize);
  for (let i = 0; i < batchSize; i++) {
    const example = x.subarray(i * shape.inputSize, (i + 1) * shape.inputSize);
    let gradients: Float32Array[] = [];
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () =>
          tf.sum(
            forwardCrossEntropy(model, shape, example, labels.subarray(i, i + 1), true).losses
          ) as tf.Scalar,
        [...variables]
      );
      losses[i] = value.dataSync()[0] ?? Number.NaN;
      gradients = variables.map((variable) => copyData(grads[variable.name]!));
    });
    let squared = 0;
    for (const gradient of gradients) for (const value of gradient) squared += value * value;
    const norm = Math.sqrt(squared);
    norms[i] = norm;
    const factor = clipNorm / Math.max(norm, clipNorm);
    gradients.forEach((gradient, index) => {
      const sum = sums[index]!;
      for (let e = 0; e < sum.length; e++) sum[e] = sum[e]! + factor * gradient[e]!;
    });
  }
  return { sums, norms, losses };
}
