// The hooks through which fine-tuning methods change the model without copying it (implemented by
// src/methods/: LoRA, QLoRA, P-tuning v2). The model itself knows no method by name.
import type * as tf from '@tensorflow/tfjs';

/**
 * Adds to a linear site's output: LoRA's `scaling · (x·Aᵀ)·Bᵀ`. Called inside the model's tidy and
 * gradient tape, so its variables train like any other.
 */
export interface LinearAdapter {
  /** x: [tokens, in_features] → [tokens, out_features]. `training` turns on the adapter's own dropout. */
  delta(x: tf.Tensor2D, training: boolean): tf.Tensor2D;
}

/**
 * Adapters per linear site, keyed by the site's THUDM module name, e.g.
 * `transformer.encoder.layers.0.self_attention.query_key_value` (see GlmModel.linearSites()).
 * Passed per forward, so a server can apply a different adapter set to each request on one base.
 */
export type AdapterSet = ReadonlyMap<string, LinearAdapter>;

/**
 * Replaces a linear site's float weight W [out, in] with a frozen source, e.g. packed NF4 codes that
 * are dequantised on the fly. Implementations wrap the product in tf.customGrad and dequantise again
 * in the backward pass, so the tape keeps no float copy of W (see notes/tfjs-on-cpu.md, Q5).
 */
export interface FrozenLinearWeight {
  /** [out_features, in_features], as the weight it replaces. */
  readonly shape: readonly [number, number];
  /** x: [tokens, in_features] → x·Wᵀ: [tokens, out_features]; gradient flows to x only. */
  matmulTransposed(x: tf.Tensor2D): tf.Tensor2D;
  /** W as float32 (for merging into a saved model). */
  dequantize(): tf.Tensor2D;
  dispose(): void;
}
