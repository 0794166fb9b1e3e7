// RMSNorm over the last dim: x · rsqrt(mean(x²) + eps) · w. One fused kernel where registered (it keeps x
// and one scale per row for backward), else the plain TF.js ops.
import * as tf from '@tensorflow/tfjs';
import { FUSED, fusedKernelActive } from '../fused-kernels.ts';

export function rmsNorm(x: tf.Tensor2D, weight: tf.Tensor1D, eps: number): tf.Tensor2D {
  if (!fusedKernelActive(FUSED.rmsNorm)) return rmsNormComposite(x, weight, eps);
  const [y, rstd] = tf.engine().runKernel(FUSED.rmsNorm, { x, weight }, { eps }) as tf.Tensor[];
  rstd.dispose(); // the tape keeps its own reference
  return y as tf.Tensor2D;
}

export function rmsNormComposite(x: tf.Tensor2D, weight: tf.Tensor1D, eps: number): tf.Tensor2D {
  const variance = tf.mean(tf.square(x), -1, true); // [N, 1]
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(variance, eps))), weight);
}
