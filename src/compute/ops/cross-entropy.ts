// Mean cross-entropy of logits [M, V] against M target ids. One fused kernel where registered (per-row loss
// and log-sum-exp in one pass over the logits; its backward writes softmax − one-hot directly), else plain
// TF.js ops with the gradient written out as (softmax − one-hot) / M: one node on the tape instead of
// log-sum-exp's max/sub/exp/sum/log and a gather, whose gradients (notably max's, through a broadcast Equal)
// cost more than the whole loss.
import * as tf from '@tensorflow/tfjs';
import { FUSED, fusedKernelActive } from '../fused-kernels.ts';

export function meanCrossEntropy(logits: tf.Tensor2D, targets: readonly number[]): tf.Scalar {
  if (!fusedKernelActive(FUSED.crossEntropy)) return meanCrossEntropyComposite(logits, targets);
  const ids = tf.tensor1d(targets as number[], 'int32');
  const [rows, lse] = tf.engine().runKernel(FUSED.crossEntropy, { logits, targets: ids }) as tf.Tensor[];
  tf.dispose([ids, lse]); // the tape keeps its own references
  const loss = tf.mean(rows) as tf.Scalar;
  rows.dispose();
  return loss;
}

export function meanCrossEntropyComposite(logits: tf.Tensor2D, targets: readonly number[]): tf.Scalar {
  const [M, V] = logits.shape;
  const loss = tf.customGrad((...args) => {
    const [x, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    save([x]);
    const picked = tf.gather(tf.reshape(x, [-1]), tf.tensor1d(targets.map((t, i) => i * V + t), 'int32')); // [M]
    return {
      value: tf.mean(tf.sub(tf.logSumExp(x, 1), picked)) as tf.Scalar,
      // Tensors are made here, not captured: the forward's intermediates are gone by the backward pass.
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(tf.sub(tf.softmax(saved[0]), tf.oneHot(tf.tensor1d(targets as number[], 'int32'), V)), tf.div(dy, M)),
    };
  });
  return loss(logits) as tf.Scalar;
}
