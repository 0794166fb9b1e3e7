// SwiGLU on dense_h_to_4h's output u = [a | b]: silu(a) · b. One fused kernel where registered (no split of
// u, no concat of its gradient, u is all it keeps), else the plain TF.js ops.
import * as tf from '@tensorflow/tfjs';
import { FUSED, fusedKernelActive } from '../fused-kernels.ts';

/** u [N, 2f] → [N, f] */
export function swiglu(u: tf.Tensor2D): tf.Tensor2D {
  if (fusedKernelActive(FUSED.swiglu)) return tf.engine().runKernel(FUSED.swiglu, { u }) as tf.Tensor2D;
  return swigluComposite(u);
}

export function swigluComposite(u: tf.Tensor2D): tf.Tensor2D {
  const [a, b] = tf.split(u, 2, 1);
  return tf.mul(tf.mul(a, tf.sigmoid(a)), b);
}
