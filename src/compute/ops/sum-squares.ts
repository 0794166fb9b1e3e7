// Σ x² of a tensor (a gradient's squared L2 norm, for global-norm clipping). One fused kernel where registered
// (one pass, accumulated in float64), else plain TF.js ops.
import * as tf from '@tensorflow/tfjs';
import { FUSED, fusedKernelActive } from '../fused-kernels.ts';

export function sumOfSquares(x: tf.Tensor): tf.Scalar {
  if (fusedKernelActive(FUSED.sumSquares)) return tf.engine().runKernel(FUSED.sumSquares, { x }) as tf.Scalar;
  return tf.sum(tf.square(x));
}
