// Knowledge distillation (Hinton et al., 2015): the student learns from the teacher's distribution
// softened by a temperature T, mixed with the usual cross-entropy on the labels:
//   loss = alpha · T² · KL(softmax(t/T) ‖ softmax(s/T)) + (1 − alpha) · CE(s, labels)
// over the target tokens (KL summed over the vocabulary, both terms averaged over the targets; T²
// keeps the soft term's gradient scale independent of T). Any method trains the student; the teacher
// is a frozen model that reads the same token ids, so both must share a tokenizer.
import * as tf from '@tensorflow/tfjs';
import type { CausalLanguageModel } from '../model/language-model.ts';
import { meanCrossEntropy } from '../model/loss.ts';
import type { Tokenizer } from '../model/tokenizers/types.ts';
import type { TuningMethod } from '../methods/types.ts';
import { TrainingSetupError } from './errors.ts';
import type { Objective } from './step.ts';

export interface DistillationSettings {
  temperature: number;
  alpha: number;
}

/**
 * The distillation loss from logits at the target positions: student [M, Vs] (with gradient), teacher
 * [M, Vt]. The KL term compares the first min(Vs, Vt) columns (embeddings padded differently past the
 * shared vocabulary); the cross-entropy uses all of the student's.
 */
export function distillationLoss(student: tf.Tensor2D, teacher: tf.Tensor2D, targets: readonly number[], { temperature: T, alpha }: DistillationSettings): tf.Scalar {
  return tf.tidy(() => {
    const width = Math.min(student.shape[1], teacher.shape[1]);
    const M = student.shape[0];
    const s = width === student.shape[1] ? student : tf.slice(student, [0, 0], [M, width]);
    const t = width === teacher.shape[1] ? teacher : tf.slice(teacher, [0, 0], [M, width]);
    const logPs = tf.logSoftmax(tf.div(s, T));
    const logPt = tf.logSoftmax(tf.div(t, T));
    const kl = tf.div(tf.sum(tf.mul(tf.exp(logPt), tf.sub(logPt, logPs))), M);
    const ce = meanCrossEntropy(student, targets);
    return tf.add(tf.mul(kl, alpha * T * T), tf.mul(ce, 1 - alpha)) as tf.Scalar;
  });
}

/** Throws unless the two tokenizers map text to the same ids (same kind, vocabulary and special tokens). */
export function checkSharedTokenizer(student: Tokenizer, teacher: Tokenizer): void {
  const probe = 'Distillation probe: 你好, world! 123';
  const same =
    student.kind === teacher.kind &&
    student.vocabSize === teacher.vocabSize &&
    student.eosId === teacher.eosId &&
    student.padId === teacher.padId &&
    JSON.stringify(Object.entries(student.specialTokens).sort()) === JSON.stringify(Object.entries(teacher.specialTokens).sort()) &&
    JSON.stringify(student.encode(probe)) === JSON.stringify(teacher.encode(probe));
  if (!same) {
    throw new TrainingSetupError(
      `distillation needs a teacher with the student's tokenizer: the student's is ${student.kind} with ${student.vocabSize} ids, the teacher's ${teacher.kind} with ${teacher.vocabSize} ids, and they encode text differently`,
    );
  }
}

/** The training objective of a distillation run; the student is the method's model. */
export function distillationObjective(student: CausalLanguageModel, method: TuningMethod, teacher: CausalLanguageModel, settings: DistillationSettings, dropoutSeed: (microBatch: number) => number): Objective {
  return {
    prepare: (batch) => teacher.targetLogits(batch.inputIds, batch.labels).logits,
    loss: (batch, microBatch, teacherLogits) => {
      const { logits, targets } = student.targetLogits(batch.inputIds, batch.labels, method.forwardOptions(true, dropoutSeed(microBatch)));
      return distillationLoss(logits, teacherLogits as tf.Tensor2D, targets, settings);
    },
  };
}
