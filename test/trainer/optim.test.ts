// Gradient accumulation, clipping and learning-rate schedules.
import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initCompute } from '../../src/compute/backend.ts';
import { templateFor } from '../../src/model/chat-templates/select.ts';
import { loadModel } from '../../src/model/load.ts';
import { loadTokenizer } from '../../src/model/tokenizers/load.ts';
import { createMethod } from '../../src/methods/create.ts';
import { collate } from '../../src/trainer/data/batches.ts';
import { encodeConversation } from '../../src/trainer/data/encode.ts';
import { clipByGlobalNorm, globalNorm } from '../../src/trainer/optim/clip.ts';
import { scheduleFactor, warmupSteps } from '../../src/trainer/optim/schedule.ts';
import { accumulateGradients, causalLmObjective } from '../../src/trainer/step.ts';
import { conversation, scratchDir, writeTestModel } from './helpers.ts';

await initCompute();

test('accumulating 4 micro-batches of 2 gives the gradient and loss of one batch of 8 (token-weighted, not a mean of means)', async (t) => {
  const dir = writeTestModel(join(scratchDir(t, 'accumulate'), 'model'));
  const tokenizer = await loadTokenizer(dir);
  const template = await templateFor(dir, tokenizer);
  // replies of very different lengths, so that a mean of per-batch means would differ from the token mean
  const answers = ['A.', 'A much longer answer with many tokens in it.', 'B', 'Another fairly long reply here.', 'C.', 'D', 'Reply number seven is of medium size.', 'E!'];
  const examples = answers.map((a, i) => encodeConversation(template, conversation(`Question ${i}?`, a), { maxSeqLen: 256, trainOnInputs: false })!.example);
  const model = loadModel(dir);
  const method = createMethod(model, { type: 'full' }, { seed: 1 });
  t.after(() => {
    method.dispose();
    model.dispose();
  });
  const objective = causalLmObjective(model, method, () => 0);
  const whole = accumulateGradients(method.trainable(), [collate(examples, tokenizer.padId)], objective);
  const pairs = [0, 2, 4, 6].map((i) => collate(examples.slice(i, i + 2), tokenizer.padId));
  const accumulated = accumulateGradients(method.trainable(), pairs, objective);
  assert.equal(accumulated.targets, whole.targets);
  assert.ok(Math.abs(accumulated.loss - whole.loss) < 1e-5, `loss ${accumulated.loss} vs ${whole.loss}`);
  const meanOfMeans = pairs.reduce((s, b) => s + tf.tidy(() => model.loss(b.inputIds, b.labels).dataSync()[0]), 0) / pairs.length;
  assert.ok(Math.abs(meanOfMeans - whole.loss) > 1e-3, 'the test data must tell a token mean from a mean of means');
  for (const [name, g] of whole.grads) {
    const a = g.dataSync() as Float32Array;
    const b = accumulated.grads.get(name)!.dataSync() as Float32Array;
    const scale = Math.max(1e-3, ...Array.from(a, Math.abs));
    const diff = a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
    assert.ok(diff <= 1e-5 * scale, `${name}: max |Δgrad| ${diff} (largest ${scale})`);
  }
  tf.dispose([...whole.grads.values(), ...accumulated.grads.values()]);
});

test('clipping scales every gradient by max_norm / (norm + 1e-6) when the global norm exceeds it, as torch', () => {
  const grads = new Map<string, tf.Tensor>([['a', tf.tensor1d([3, 4])], ['b', tf.tensor1d([12])]]);
  const norm = globalNorm(grads); // √(9 + 16 + 144) = 13
  assert.ok(Math.abs(norm - 13) < 1e-6);
  const factor = clipByGlobalNorm(grads, norm, 1);
  assert.equal(factor, 1 / (13 + 1e-6));
  assert.ok(Math.abs(globalNorm(grads) - 13 / (13 + 1e-6)) < 1e-6);
  assert.deepEqual(Array.from(grads.get('a')!.dataSync(), (x) => Math.fround(x)), [Math.fround(3 * factor), Math.fround(4 * factor)]);
  assert.equal(clipByGlobalNorm(grads, 1, 2), 1, 'below max_norm nothing changes');
  tf.dispose([...grads.values()]);
});

test('schedules follow transformers get_scheduler: linear, cosine and constant after a linear warm-up', () => {
  const linear = { type: 'linear' as const, warmupSteps: 2, totalSteps: 10 };
  // warm-up: completed/2; then (10 − completed) / 8
  assert.deepEqual([0, 1, 2, 3, 6, 10].map((s) => scheduleFactor(linear, s)), [0, 0.5, 1, 7 / 8, 4 / 8, 0]);
  const cosine = { type: 'cosine' as const, warmupSteps: 2, totalSteps: 10 };
  // 0.5·(1 + cos(π·progress)), progress = (completed − 2) / 8
  assert.equal(scheduleFactor(cosine, 2), 1);
  assert.ok(Math.abs(scheduleFactor(cosine, 6) - 0.5) < 1e-12);
  assert.ok(Math.abs(scheduleFactor(cosine, 4) - 0.5 * (1 + Math.cos(Math.PI / 4))) < 1e-12);
  assert.ok(Math.abs(scheduleFactor(cosine, 10)) < 1e-12);
  const constant = { type: 'constant' as const, warmupSteps: 4, totalSteps: 10 };
  assert.deepEqual([0, 2, 4, 9].map((s) => scheduleFactor(constant, s)), [0, 0.5, 1, 1]);
  assert.equal(scheduleFactor({ type: 'linear', warmupSteps: 0, totalSteps: 4 }, 0), 1, 'no warm-up: the first step has the full rate');
  assert.equal(warmupSteps(0, 0.1, 25), 3, 'ratio: ceil(0.1 × 25)');
  assert.equal(warmupSteps(5, 0.1, 25), 5, 'explicit steps win over the ratio');
});
