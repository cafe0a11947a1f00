import * as tf from '@tensorflow/tfjs';
import { describeClassifier, forwardCrossEntropy } from './classifier';
import { KernelUnavailableError } from './errors';

/** The message that tfjs 4.22's engine throws for a kernel missing on the active backend. */
const MISSING_KERNEL = /Kernel '([^']+)' not registered for backend '([^']+)'/;

/**
 * Checks that the model can train on the active tfjs backend by computing the loss gradients of
 * one all-zero example. The weights are not changed, and the tensors that the check creates are
 * disposed when it succeeds.
 *
 * @throws KernelUnavailableError naming the backend and the first missing kernel.
 * @throws UnsupportedModelError when the model is not a single-input softmax classifier.
 */
export function checkTrainable(model: tf.LayersModel): void {
  const shape = describeClassifier(model);
  const variables = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
  const x = new Float32Array(shape.inputSize);
  const labels = new Uint8Array(1);
  try {
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () => tf.mean(forwardCrossEntropy(model, shape, x, labels, true).losses) as tf.Scalar,
        variables
      );
      // Reading the values makes backends that run kernels lazily run them here.
      value.dataSync();
      for (const gradient of Object.values(grads)) gradient.dataSync();
    });
  } catch (error) {
    const match = error instanceof Error ? MISSING_KERNEL.exec(error.message) : null;
    if (match === null) throw error;
    // NOTE: a gradient computation that fails halfway leaves tensors that tfjs saved for the
    // backward pass undisposed. Callers are expected to stop rather than train on.
    throw new KernelUnavailableError(model.name, match[2] ?? tf.getBackend(), match[1] ?? '', {
      cause: error,
    });
  }
}
