// A frozen quantized linear weight W [out, in] for QLoRA: y = x·Wᵀ with W dequantized on the fly. The
// product is a tf.customGrad that dequantizes W again in the backward pass, so the tape never holds a float
// copy of W (holding one per layer until backward would bring peak memory back to float32 levels:
// ../shared/notes/tfjs-on-cpu.md, Q5). Gradients flow to x only. It has the shape of the model's
// FrozenLinearWeight (src/model/extensions.ts), so GlmModel.replaceLinearWeight accepts it.
import * as tf from '@tensorflow/tfjs';
import { dequantize, disposeWeight, quantizeInt8Weight, quantizeNF4Weight, residentBytes, type NF4Options, type QuantizedWeight } from './dequant.ts';

export class QuantizedLinearWeight {
  readonly shape: readonly [number, number];
  private readonly product: (x: tf.Tensor2D) => tf.Tensor2D;

  constructor(private readonly weight: QuantizedWeight) {
    if (weight.shape.length !== 2) throw new Error(`a linear weight has rank 2, got [${weight.shape}]`);
    this.shape = [weight.shape[0], weight.shape[1]];
    // Nothing is saved for the gradient: W is dequantized again, and each float W lives only inside its tidy.
    this.product = tf.customGrad((x) => ({
      value: tf.tidy(() => tf.matMul(x as tf.Tensor2D, this.dequantize(), false, true)),
      gradFunc: (dy) => tf.tidy(() => tf.matMul(dy as tf.Tensor2D, this.dequantize())),
    })) as (x: tf.Tensor2D) => tf.Tensor2D;
  }

  /** W [out, in] from its float32 values, as NF4 (block 64, optionally double-quantized absmax). */
  static nf4(values: Float32Array, shape: readonly [number, number], options?: NF4Options): QuantizedLinearWeight {
    return new QuantizedLinearWeight(quantizeNF4Weight(values, [...shape], options));
  }

  /** W [out, in] from its float32 values, as int8 with one absmax per output row. */
  static int8(values: Float32Array, shape: readonly [number, number]): QuantizedLinearWeight {
    return new QuantizedLinearWeight(quantizeInt8Weight(values, [...shape]));
  }

  /** x [tokens, in] → x·Wᵀ [tokens, out]. */
  matmulTransposed(x: tf.Tensor2D): tf.Tensor2D {
    return this.product(x);
  }

  dequantize(): tf.Tensor2D {
    return dequantize(this.weight) as tf.Tensor2D;
  }

  /** Bytes kept resident for W (0.5625 per weight for NF4). */
  residentBytes(): number {
    return residentBytes(this.weight);
  }

  dispose(): void {
    disposeWeight(this.weight);
  }
}
