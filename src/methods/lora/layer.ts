// One LoRA adapter on one linear site (PEFT's lora.Linear without the base layer, which the model keeps):
// y += scaling · (dropout(x)·lora_Aᵀ)·lora_Bᵀ, scaling = lora_alpha / r.
import * as tf from '@tensorflow/tfjs';
import type { LinearAdapter } from '../../model/extensions.ts';
import { kaimingUniform } from '../init.ts';

export class LoraLayer {
  constructor(
    readonly site: string,
    readonly lora_A: tf.Variable<tf.Rank.R2>, // [r, in]
    readonly lora_B: tf.Variable<tf.Rank.R2>, // [out, r]
    readonly scaling: number,
    readonly dropout: number,
  ) {}

  /**
   * A new adapter as PEFT initialises it: lora_A kaiming-uniform (a = √5, i.e. U(−1/√in, 1/√in)) from
   * (seed, PEFT key), lora_B zero, so the adapted model starts equal to the base.
   */
  static init(site: string, shape: readonly [number, number], settings: { r: number; alpha: number; dropout: number }, seed: number, key: string): LoraLayer {
    const [out, inFeatures] = shape;
    const a = tf.tensor2d(kaimingUniform(seed, key, [settings.r, inFeatures]), [settings.r, inFeatures]);
    const b = tf.zeros([out, settings.r]) as tf.Tensor2D;
    const layer = new LoraLayer(site, tf.variable(a, false), tf.variable(b, false), settings.alpha / settings.r, settings.dropout);
    tf.dispose([a, b]);
    return layer;
  }

  /** The adapter for one pass; `dropoutSeed` fixes its dropout mask (random when omitted). */
  adapter(dropoutSeed?: string): LinearAdapter {
    return {
      delta: (x, training) => {
        const input = training && this.dropout > 0 ? tf.dropout(x, this.dropout, undefined, dropoutSeed) : x;
        const down = tf.matMul(input, this.lora_A, false, true); // [tokens, r]
        return tf.mul(tf.matMul(down, this.lora_B, false, true), this.scaling) as tf.Tensor2D; // [tokens, out]
      },
    };
  }

  /** scaling · lora_B·lora_A: what merging adds to the base weight W [out, in]. */
  deltaWeight(): tf.Tensor2D {
    return tf.tidy(() => tf.mul(tf.matMul(this.lora_B, this.lora_A), this.scaling) as tf.Tensor2D);
  }

  dispose(): void {
    tf.dispose([this.lora_A, this.lora_B]);
  }
}
