// One AdamW update of a parameter and its moments (the arithmetic of src/trainer/optim/adamw.ts). One fused
// kernel where registered (one pass reading p, m, v, g and writing their successors), else plain TF.js ops
// (about ten passes, each allocating a tensor of the parameter's size).
import * as tf from '@tensorflow/tfjs';
import { FUSED, fusedKernelActive, type AdamWAttrs } from '../fused-kernels.ts';

/**
 * [p', m', v']: m' = β1·m + (1−β1)·g; v' = β2·v + (1−β2)·g²; p' = p·decay − stepSize·m' / (√v' / correction2Sqrt + eps).
 * p, m and v are being replaced: the fused kernel writes each result into its input's memory when no other
 * tensor shares it (an optimizer's variables), so use only the results afterwards.
 */
export function adamwUpdate(p: tf.Tensor, m: tf.Tensor, v: tf.Tensor, g: tf.Tensor, a: AdamWAttrs): tf.Tensor[] {
  if (fusedKernelActive(FUSED.adamw)) return tf.engine().runKernel(FUSED.adamw, { p, m, v, g }, a as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return adamwUpdateComposite(p, m, v, g, a);
}

export function adamwUpdateComposite(p: tf.Tensor, m: tf.Tensor, v: tf.Tensor, g: tf.Tensor, a: AdamWAttrs): tf.Tensor[] {
  return tf.tidy(() => {
    const m1 = tf.add(tf.mul(m, a.beta1), tf.mul(g, 1 - a.beta1));
    const v1 = tf.add(tf.mul(v, a.beta2), tf.mul(tf.square(g), 1 - a.beta2));
    const denom = tf.add(tf.div(tf.sqrt(v1), a.correction2Sqrt), a.eps);
    const decayed = a.decay === 1 ? p : tf.mul(p, a.decay);
    return [tf.sub(decayed, tf.mul(tf.div(m1, denom), a.stepSize)), m1, v1];
  });
}
