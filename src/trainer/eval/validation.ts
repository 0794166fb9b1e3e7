// Validation loss, perplexity and token accuracy in one pass over the validation batches: the loss is
// the token-weighted mean cross-entropy over every target token (as the training loss), perplexity is
// exp(loss), token accuracy is the share of targets where the argmax of the logits is the label.
import * as tf from '@tensorflow/tfjs';
import type { CausalLanguageModel } from '../../model/language-model.ts';
import { predictedPositions } from '../../model/loss.ts';
import type { MethodForwardOptions } from '../../methods/types.ts';
import type { Batch } from '../data/batches.ts';

export interface ValidationMetrics {
  loss: number;
  perplexity: number;
  tokenAccuracy: number;
  /** Target tokens scored. */
  tokens: number;
}

/** Summed cross-entropy and correct argmax count of one batch. */
function scoreBatch(model: CausalLanguageModel, batch: Batch, options: () => MethodForwardOptions): { lossSum: number; correct: number; count: number } {
  const { rows } = predictedPositions(batch.labels, model.config.paddedVocabSize);
  if (rows.length === 0) return { lossSum: 0, correct: 0, count: 0 };
  const [lossSum, correct] = tf.tidy(() => {
    const { logits: picked, targets } = model.targetLogits(batch.inputIds, batch.labels, options()); // [M, V]
    const labels = tf.tensor1d(targets, 'int32');
    const targetLogits = tf.sum(tf.mul(picked, tf.oneHot(labels, model.config.paddedVocabSize)), 1);
    const ce = tf.sum(tf.sub(tf.logSumExp(picked, 1), targetLogits));
    const hits = tf.sum(tf.cast(tf.equal(tf.argMax(picked, 1), labels), 'float32'));
    return tf.stack([ce, hits]).dataSync();
  });
  return { lossSum, correct, count: rows.length };
}

/** Scores the batches with the method's eval-mode forward options (no dropout). */
export function validationMetrics(model: CausalLanguageModel, batches: readonly Batch[], options: () => MethodForwardOptions): ValidationMetrics {
  let lossSum = 0;
  let correct = 0;
  let count = 0;
  for (const batch of batches) {
    const s = scoreBatch(model, batch, options);
    lossSum += s.lossSum;
    correct += s.correct;
    count += s.count;
  }
  if (count === 0) throw new Error('the validation set has no target tokens');
  const loss = lossSum / count;
  return { loss, perplexity: Math.exp(loss), tokenAccuracy: correct / count, tokens: count };
}
