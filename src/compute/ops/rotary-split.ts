// From the fused query_key_value output to attention's layout with ChatGLM's rotary embedding applied:
// queries [B, g, (H/g)·T, d] (query heads of a kv group folded into rows, scaled by 1/√d), keys and values
// [B, g, T, d]. One fused kernel where registered (no split, no transposes, nothing kept but the tables),
// else plain TF.js ops: rotary as x·cos + (x·P)·sin (one constant matmul, no slicing: notes/tfjs-on-cpu.md).
import * as tf from '@tensorflow/tfjs';
import { FUSED, fusedKernelActive, type RotarySplitAttrs } from '../fused-kernels.ts';

export interface RotaryTables {
  /** [B·T, d]: cos of each rotated pair's angle on both of its dims, 1 on dims that do not rotate. */
  cos: tf.Tensor2D;
  /** [B·T, d]: sin likewise, 0 on dims that do not rotate. */
  sin: tf.Tensor2D;
  /** [d, d]: x·P maps each rotated pair (x0, x1) to (−x1, x0), other dims to 0 (the plain ops' form). */
  pair: tf.Tensor2D;
}

export interface AttentionInputs {
  queries: tf.Tensor4D;
  keys: tf.Tensor4D;
  values: tf.Tensor4D;
}

export type AttentionLayout = Omit<RotarySplitAttrs, 'qScale'>;

/** qkv [B·T, (H + 2g)·d]: queries, keys, values of each token. */
export function rotarySplit(qkv: tf.Tensor2D, tables: RotaryTables, layout: AttentionLayout, qScale: number): AttentionInputs {
  if (!fusedKernelActive(FUSED.rotarySplit)) return rotarySplitComposite(qkv, tables, layout, qScale);
  const attrs: RotarySplitAttrs = { ...layout, qScale };
  const [queries, keys, values] = tf.engine().runKernel(FUSED.rotarySplit, { qkv, cos: tables.cos, sin: tables.sin }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D[];
  return { queries, keys, values };
}

export function rotarySplitComposite(qkv: tf.Tensor2D, tables: RotaryTables, layout: AttentionLayout, qScale: number): AttentionInputs {
  const { batch: B, seq: T, heads: H, groups: g, headDim: d } = layout;
  const [q, k, v] = tf.split(qkv, [H * d, g * d, g * d], 1);
  const cos = tf.reshape(tables.cos, [B, T, 1, d]), sin = tf.reshape(tables.sin, [B, T, 1, d]);
  // x·cos + (x·P)·sin on x: [B·T, heads·d] → [B, T, heads, d]
  const rotate = (x: tf.Tensor, heads: number, c: tf.Tensor, s: tf.Tensor): tf.Tensor => {
    const paired = tf.reshape(tf.matMul(tf.reshape(x, [B * T * heads, d]), tables.pair), [B, T, heads, d]);
    return tf.add(tf.mul(tf.reshape(x, [B, T, heads, d]), c), tf.mul(paired, s));
  };
  const rotatedQ = rotate(q, H, tf.mul(cos, qScale), tf.mul(sin, qScale));
  const rotatedK = rotate(k, g, cos, sin);
  // Query head j·(H/g) + i belongs to group j: fold the group's heads into rows
  return {
    queries: tf.reshape(tf.transpose(rotatedQ, [0, 2, 1, 3]), [B, g, (H / g) * T, d]) as tf.Tensor4D,
    keys: tf.transpose(rotatedK, [0, 2, 1, 3]) as tf.Tensor4D,
    values: tf.transpose(tf.reshape(v, [B, T, g, d]), [0, 2, 1, 3]) as tf.Tensor4D,
  };
}
