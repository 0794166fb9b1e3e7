// Attention probabilities softmax(scores + mask) over the keys. One fused kernel where registered (it keeps
// only the probabilities for backward), else the plain TF.js ops.
import * as tf from '@tensorflow/tfjs';
import { FUSED, fusedKernelActive, maskSharing } from '../fused-kernels.ts';

/** scores [B, g, R, K]; mask [B or 1, 1, R, K] of 0 / −1e9, or null. */
export function maskedSoftmax(scores: tf.Tensor4D, mask: tf.Tensor4D | null): tf.Tensor4D {
  if (fusedKernelActive(FUSED.maskedSoftmax) && (!mask || maskSharing(scores.shape, mask.shape) !== undefined)) {
    return tf.engine().runKernel(FUSED.maskedSoftmax, mask ? { x: scores, mask } : { x: scores }) as tf.Tensor4D;
  }
  return maskedSoftmaxComposite(scores, mask);
}

export function maskedSoftmaxComposite(scores: tf.Tensor4D, mask: tf.Tensor4D | null): tf.Tensor4D {
  return tf.softmax(mask ? tf.add(scores, mask) : scores) as tf.Tensor4D;
}
