// Worker-side update compression: which encoding each tensor of an update gets, and the error
// feedback that carries what a lossy encoding dropped into the next update.
import {
  decodeTensor,
  encodeTensor,
  type NamedTensor,
  type TensorEncodeOptions,
  type TensorEncoding,
} from './codec';
import { InvalidFieldError } from './errors';

/** Compression settings of a worker's updates, applied to the deltas of trainable tensors. */
export interface CompressionSettings {
  readonly kind: TensorEncoding;
  /** Fraction of each tensor's elements that `topk` sends, in (0, 1]; at least one is sent. */
  readonly topkFraction: number;
  /** Whether what the lossy encoding drops is added to the next update of the same tensor. */
  readonly errorFeedback: boolean;
}

/** One tensor of an update before compression. */
export interface UpdateTensor extends NamedTensor {
  /**
   * True for deltas of trainable weights. False for non-trainable state (batch-norm statistics),
   * which travels as values, not deltas. Dropping or rounding part of a value corrupts it, and a
   * residual of a value means nothing, so these tensors always go as float32.
   */
  readonly isDelta: boolean;
}

/** Tensors ready for `encodeUpdate`, with the options to encode each one. */
export interface CompressedUpdate {
  readonly tensors: NamedTensor[];
  readonly optionsOf: (tensor: NamedTensor) => TensorEncodeOptions;
}

/** Returns the encoding options of a tensor of `size` elements under `settings`. */
export function tensorEncodeOptions(
  settings: Pick<CompressionSettings, 'kind' | 'topkFraction'>,
  size: number
): TensorEncodeOptions {
  if (settings.kind !== 'topk') return { encoding: settings.kind };
  const fraction = settings.topkFraction;
  if (!(fraction > 0 && fraction <= 1)) {
    throw new InvalidFieldError('topkFraction', `must be in (0, 1] (got ${fraction})`);
  }
  return { encoding: 'topk', k: Math.max(1, Math.ceil(fraction * size)) };
}

/** Returns the values a receiver decodes from `tensor` encoded with `options`. */
export function transmittedValues(tensor: NamedTensor, options: TensorEncodeOptions): Float32Array {
  return decodeTensor(encodeTensor(tensor, options)).values;
}

/**
 * Chooses each tensor's encoding and keeps one worker's error-feedback residuals.
 *
 * With error feedback, a delta tensor `Δ` is sent as `C(Δ + e)` and the residual becomes
 * `e ← Δ + e − C(Δ + e)`, where `C` is the decoded result of the lossy encoding. After any number
 * of updates, the values sent plus the residual equal the sum of the deltas (up to float32
 * rounding), so nothing the encoding drops is lost for good, only delayed.
 */
export class UpdateCompressor {
  private readonly residuals = new Map<string, Float32Array>();

  constructor(readonly settings: CompressionSettings) {
    tensorEncodeOptions(settings, 1);
  }

  /** Whether encoding loses information, so that error feedback has something to carry. */
  get lossy(): boolean {
    return this.settings.kind !== 'float32';
  }

  /**
   * Adds each delta tensor's residual to it, stores the new residual, and returns the tensors to
   * encode with their options. The caller must encode exactly the returned tensors with
   * `optionsOf`, because the residual assumes that the receiver decodes those.
   */
  compress(tensors: readonly UpdateTensor[]): CompressedUpdate {
    const options = new Map<string, TensorEncodeOptions>();
    const out: NamedTensor[] = [];
    for (const tensor of tensors) {
      const plain = { name: tensor.name, shape: tensor.shape, values: tensor.values };
      if (!tensor.isDelta || !this.lossy) {
        options.set(tensor.name, { encoding: 'float32' });
        out.push(plain);
        continue;
      }
      const tensorOptions = tensorEncodeOptions(this.settings, tensor.values.length);
      options.set(tensor.name, tensorOptions);
      if (!this.settings.errorFeedback) {
        out.push(plain);
        continue;
      }
      const compensated = this.addResidual(plain);
      const sent = transmittedValues(compensated, tensorOptions);
      const residual = new Float32Array(sent.length);
      for (let i = 0; i < sent.length; i++) residual[i] = compensated.values[i]! - sent[i]!;
      this.residuals.set(tensor.name, residual);
      out.push(compensated);
    }
    return {
      tensors: out,
      optionsOf: (tensor) => options.get(tensor.name) ?? { encoding: 'float32' },
    };
  }

  /** Returns the residual kept for a tensor, or undefined when there is none. */
  residual(name: string): Float32Array | undefined {
    return this.residuals.get(name);
  }

  /** Forgets every residual. */
  reset(): void {
    this.residuals.clear();
  }

  private addResidual(tensor: NamedTensor): NamedTensor {
    const residual = this.residuals.get(tensor.name);
    if (!residual || residual.length !== tensor.values.length) return tensor;
    const values = new Float32Array(tensor.values.length);
    for (let i = 0; i < values.length; i++) values[i] = tensor.values[i]! + residual[i]!;
    return { name: tensor.name, shape: tensor.shape, values };
  }
}
