import type * as tf from '@tensorflow/tfjs';

/** Floating-point operations of one layer for one example. */
export interface LayerFlops {
  readonly layer: string;
  readonly forward: number;
  /** Gradient of the loss with respect to the layer's input. 0 when the input is the model's. */
  readonly inputGradient: number;
  /** Gradient of the loss with respect to the kernel. */
  readonly kernelGradient: number;
}

/** Floating-point operations of one training step (forward and backward pass) per example. */
export interface TrainingFlops {
  readonly layers: readonly LayerFlops[];
  readonly forward: number;
  readonly backward: number;
  /** `forward + backward`: multiply by the batch size for a step. */
  readonly total: number;
}

const COUNTED_LAYERS = new Set(['Dense', 'Conv2D']);

/**
 * Counts the floating-point operations of one training example from the layer shapes: each
 * multiply-add of a Dense or Conv2D layer counts 2, in the forward pass, in the kernel gradient
 * and in the input gradient (which backpropagation skips for a layer fed by the model's input).
 * Biases, activations, pooling and the loss are left out; they add a few percent for the
 * models in this library.
 */
export function countTrainingFlops(model: tf.LayersModel): TrainingFlops {
  const layers: LayerFlops[] = [];
  for (const layer of model.layers) {
    if (!COUNTED_LAYERS.has(layer.getClassName())) continue;
    const kernel = layer.getWeights()[0];
    if (kernel === undefined) continue;
    const outputShape = layer.outputShape as (number | null)[];
    // Dense: [batch, units], so one output position. Conv2D: [batch, height, width, filters].
    const positions = outputShape.slice(1, -1).reduce<number>((size, dim) => size * (dim ?? 1), 1);
    const forward = 2 * kernel.size * positions;
    const fedByInput = layer.inboundNodes.every((node) =>
      node.inboundLayers.every((inbound) => inbound.getClassName() === 'InputLayer')
    );
    layers.push({
      layer: layer.name,
      forward,
      inputGradient: fedByInput ? 0 : forward,
      kernelGradient: forward,
    });
  }
  const forward = layers.reduce((sum, layer) => sum + layer.forward, 0);
  const backward = layers.reduce(
    (sum, layer) => sum + layer.inputGradient + layer.kernelGradient,
    0
  );
  return { layers, forward, backward, total: forward + backward };
}
