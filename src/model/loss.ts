// The causal-LM loss (Hugging Face convention): logits at position t predict the label at t+1; labels
// of -100 are ignored; the result is the mean over every predicted token of the batch.
import * as tf from '@tensorflow/tfjs';
import type { Rows } from './attention-inputs.ts';

export const IGNORE_INDEX = -100;

/** Which rows of the flattened [B·T] logits predict something, and the target id of each. */
export function predictedPositions(labels: Rows, vocabSize: number): { rows: number[]; targets: number[] } {
  const rows: number[] = [];
  const targets: number[] = [];
  labels.forEach((row, b) => {
    for (let t = 0; t + 1 < row.length; t++) {
      const target = row[t + 1];
      if (target === IGNORE_INDEX) continue;
      if (!Number.isInteger(target) || target < 0 || target >= vocabSize) throw new Error(`label ${target} outside the vocabulary [0, ${vocabSize})`);
      rows.push(b * row.length + t);
      targets.push(target);
    }
  });
  return { rows, targets };
}

/**
 * Mean cross-entropy of logits [M, V] against `targets` (M ids), with its gradient written out as
 * (softmax − one-hot) / M: one node on the tape instead of log-sum-exp's max/sub/exp/sum/log and a
 * gather, whose gradients (notably max's, through a broadcast Equal) cost more than the whole loss.
 */
export function meanCrossEntropy(logits: tf.Tensor2D, targets: readonly number[]): tf.Scalar {
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
