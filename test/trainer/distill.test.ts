// Distillation: the student's distribution moves toward the teacher's, and a teacher with another
// tokenizer is refused with a clear error.
import test from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initCompute } from '../../src/compute/backend.ts';
import { templateFor } from '../../src/model/chat-templates/select.ts';
import type { CausalLanguageModel } from '../../src/model/language-model.ts';
import { loadModel } from '../../src/model/load.ts';
import { predictedPositions } from '../../src/model/loss.ts';
import { loadTokenizer } from '../../src/model/tokenizers/load.ts';
import { createMethod } from '../../src/methods/create.ts';
import type { TuningMethod } from '../../src/methods/types.ts';
import { parseTrainingConfig } from '../../src/trainer/config.ts';
import { collate, type Batch } from '../../src/trainer/data/batches.ts';
import { encodeConversation } from '../../src/trainer/data/encode.ts';
import { checkSharedTokenizer } from '../../src/trainer/distill.ts';
import { TrainingSetupError } from '../../src/trainer/errors.ts';
import { runTraining } from '../../src/trainer/loop.ts';
import { train } from '../../src/trainer/train.ts';
import { QA_PAIRS, conversation, scratchDir, writeJsonl, writeTestModel } from './helpers.ts';

await initCompute();

/** Mean over target tokens of KL(softmax(teacher/T) ‖ softmax(student/T)). */
function meanKl(student: CausalLanguageModel, method: TuningMethod, teacher: CausalLanguageModel, batch: Batch, T: number): number {
  const { rows } = predictedPositions(batch.labels, student.config.paddedVocabSize);
  return tf.tidy(() => {
    const pick = (logits: tf.Tensor) => tf.gather(tf.reshape(logits, [-1, student.config.paddedVocabSize]), tf.tensor1d(rows, 'int32'));
    const logPs = tf.logSoftmax(tf.div(pick(student.forward(batch.inputIds, method.forwardOptions(false)).logits), T));
    const logPt = tf.logSoftmax(tf.div(pick(teacher.forward(batch.inputIds).logits), T));
    return tf.div(tf.sum(tf.mul(tf.exp(logPt), tf.sub(logPt, logPs))), rows.length).dataSync()[0];
  });
}

test('with alpha 1 the student trains toward the teacher: the KL between them falls', async (t) => {
  const root = scratchDir(t, 'distill');
  const studentDir = writeTestModel(join(root, 'student'), { seed: 1 });
  const teacherDir = writeTestModel(join(root, 'teacher'), { seed: 2 });
  const tokenizer = await loadTokenizer(studentDir);
  const template = await templateFor(studentDir, tokenizer);
  const examples = QA_PAIRS.map(([q, a], i) => ({ line: i + 1, messages: conversation(q, a), ...encodeConversation(template, conversation(q, a), { maxSeqLen: 256, trainOnInputs: false })!.example }));
  const config = parseTrainingConfig({ method: { type: 'full' }, seed: 1, batch_size: 4, max_steps: 15, learning_rate: 3e-3, lr_scheduler_type: 'constant', distillation: { teacher: 'teacher', temperature: 2, alpha: 1 } });
  const student = loadModel(studentDir);
  const teacher = loadModel(teacherDir);
  const method = createMethod(student, config.method, { seed: 1 });
  t.after(() => {
    method.dispose();
    student.dispose();
    teacher.dispose();
  });
  const batch = collate(examples, tokenizer.padId);
  const before = meanKl(student, method, teacher, batch, 2);
  const result = await runTraining({ model: student, method, tokenizer, template, config, teacher, train: examples, validation: [] });
  const after = meanKl(student, method, teacher, batch, 2);
  assert.ok(after < before / 4, `KL ${before} → ${after}`);
  // with alpha 1 the reported loss is T²·KL
  assert.ok(Math.abs(result.losses[0] - 4 * before) < 1e-4, `first loss ${result.losses[0]} vs T²·KL ${4 * before}`);
});

test('a teacher with another tokenizer is refused before training, naming both tokenizers', async (t) => {
  const root = scratchDir(t, 'distill-tokenizer');
  const studentDir = writeTestModel(join(root, 'student'));
  const teacherDir = join(root, 'teacher');
  mkdirSync(teacherDir);
  cpSync(join('test', 'fixtures', 'tokenizers', 'chatglm3', 'tokenizer.model'), join(teacherDir, 'tokenizer.model'));
  writeFileSync(join(teacherDir, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'ChatGLMTokenizer' }));
  const student = await loadTokenizer(studentDir);
  const other = await loadTokenizer(teacherDir);
  assert.throws(() => checkSharedTokenizer(student, other), (err: unknown) => err instanceof TrainingSetupError && /byte with 268 ids.*chatglm-sentencepiece/.test(err.message));
  assert.doesNotThrow(() => checkSharedTokenizer(student, student));
  const trainFile = writeJsonl(join(root, 'train.jsonl'), QA_PAIRS.map(([q, a]) => conversation(q, a)));
  await assert.rejects(
    train({ modelDir: studentDir, trainFile, teacherDir, config: { method: { type: 'full' }, distillation: { teacher: 'chatglm3' } } }),
    (err: unknown) => err instanceof TrainingSetupError && /distillation needs a teacher with the student's tokenizer/.test(err.message),
  );
});
