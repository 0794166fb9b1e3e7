// The training loop on a small model: resume after a pause continues as if never stopped, cancel,
// early stopping with the best weights as the result, a NaN loss stops the run with the weights
// untouched, checkpoints every save_steps, and a flat tensor count over steps.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initCompute } from '../../src/compute/backend.ts';
import { templateFor } from '../../src/model/chat-templates/select.ts';
import { loadModel } from '../../src/model/load.ts';
import { loadTokenizer } from '../../src/model/tokenizers/load.ts';
import { createMethod } from '../../src/methods/create.ts';
import type { MethodConfigInput } from '../../src/methods/config.ts';
import { latestCheckpoint } from '../../src/trainer/checkpoint.ts';
import { parseTrainingConfig, type TrainingConfigInput } from '../../src/trainer/config.ts';
import { encodeConversation, type EncodedExample } from '../../src/trainer/data/encode.ts';
import { TrainingDivergedError } from '../../src/trainer/errors.ts';
import { validationMetrics } from '../../src/trainer/eval/validation.ts';
import { collate } from '../../src/trainer/data/batches.ts';
import { PAUSE, runTraining, type LoopOptions } from '../../src/trainer/loop.ts';
import { conversation, scratchDir, writeTestModel } from './helpers.ts';

await initCompute();

const root = scratchDir({ after: (fn) => test.after(fn) }, 'loop');
const modelDir = writeTestModel(join(root, 'model'));
const tokenizer = await loadTokenizer(modelDir);
const template = await templateFor(modelDir, tokenizer);
const encode = (q: string, a: string, line: number): EncodedExample => ({ line, messages: conversation(q, a), ...encodeConversation(template, conversation(q, a), { maxSeqLen: 256, trainOnInputs: false })!.example });
const trainSet = ['Red?', 'Green?', 'Blue?', 'Pink?', 'Gray?', 'Gold?'].map((q, i) => encode(q, `Color ${i}.`, i + 1));
const validationSet = [encode('Teal?', 'Color 9.', 1), encode('Cyan?', 'Color 8.', 2)];
const LORA: MethodConfigInput = { type: 'lora', r: 4, alpha: 8, dropout: 0.1, target_modules: ['query_key_value', 'dense_4h_to_h'] };

/** Builds the parts and runs the loop; disposes model and method afterwards, returning what `inspect` reads. */
async function run<T = undefined>(settings: TrainingConfigInput, options: Partial<LoopOptions> = {}, inspect?: (parts: LoopOptions) => T) {
  const model = loadModel(modelDir);
  const config = parseTrainingConfig(settings);
  const method = createMethod(model, config.method, { seed: config.seed });
  const parts: LoopOptions = { model, method, tokenizer, template, config, train: trainSet, validation: [], ...options };
  try {
    const result = await runTraining(parts);
    return { result, inspected: inspect?.(parts) as T };
  } finally {
    method.dispose();
    model.dispose();
  }
}

const trainableValues = (parts: LoopOptions) => new Map([...parts.method.trainable()].map(([n, v]) => [n, Array.from(v.dataSync())]));
const BASE: TrainingConfigInput = { method: LORA, seed: 5, batch_size: 2, gradient_accumulation_steps: 2, max_steps: 6, learning_rate: 2e-2, warmup_steps: 2, lr_scheduler_type: 'cosine', weight_decay: 0.01 };

test('a run paused after 3 steps and resumed from its checkpoint gives the losses and weights of an uninterrupted run', async (t) => {
  const dir = scratchDir(t, 'resume');
  const straight = await run(BASE, {}, trainableValues);
  assert.equal(straight.result.losses.length, 6);

  const controller = new AbortController();
  const paused = await run(BASE, {
    checkpointDir: dir,
    signal: controller.signal,
    callbacks: { onProgress: (p) => p.step === 3 && controller.abort(PAUSE) },
  });
  assert.equal(paused.result.status, 'paused');
  assert.equal(paused.result.step, 3);
  assert.equal(paused.result.checkpoint, join(dir, 'checkpoint-3'));
  assert.equal(latestCheckpoint(dir), paused.result.checkpoint);

  const resumed = await run(BASE, { resumeFrom: paused.result.checkpoint }, trainableValues);
  assert.equal(resumed.result.status, 'completed');
  assert.equal(resumed.result.losses.length, 6);
  resumed.result.losses.forEach((loss, i) => assert.ok(Math.abs(loss - straight.result.losses[i]) < 1e-5, `step ${i + 1}: ${loss} vs ${straight.result.losses[i]}`));
  for (const [name, values] of straight.inspected) {
    const diff = values.reduce((m, x, i) => Math.max(m, Math.abs(x - resumed.inspected.get(name)![i])), 0);
    assert.ok(diff < 1e-5, `${name}: max |Δ| ${diff}`);
  }
});

test('cancelling stops between steps without a checkpoint', async (t) => {
  const dir = scratchDir(t, 'cancel');
  const controller = new AbortController();
  const { result } = await run(BASE, { checkpointDir: dir, signal: controller.signal, callbacks: { onProgress: (p) => p.step === 2 && controller.abort() } });
  assert.equal(result.status, 'cancelled');
  assert.equal(result.step, 2);
  assert.equal(latestCheckpoint(dir), undefined);
});

test('checkpoints every save_steps and at the end, each with the method export', async (t) => {
  const dir = scratchDir(t, 'save');
  const events: Array<{ step: number; reason: string }> = [];
  const { result } = await run({ ...BASE, save_steps: 2, max_steps: 5 }, { checkpointDir: dir, callbacks: { onCheckpoint: (c) => void events.push({ step: c.step, reason: c.reason }) } });
  assert.deepEqual(events, [{ step: 2, reason: 'save_steps' }, { step: 4, reason: 'save_steps' }, { step: 5, reason: 'end' }]);
  assert.equal(result.checkpoint, join(dir, 'checkpoint-5'));
  for (const file of ['trainable.safetensors', 'optimizer.safetensors', 'trainer_state.json', 'export/adapter_model.safetensors', 'export/adapter_config.json']) {
    assert.ok(existsSync(join(dir, 'checkpoint-4', file)), file);
  }
});

test('early stopping: patience evaluations without improvement beyond the threshold stop the run; the best weights are the result', async () => {
  const evals: number[] = [];
  const settings = { ...BASE, max_steps: 20, eval_steps: 1, early_stopping_patience: 2, early_stopping_threshold: 1e3, load_best_at_end: true };
  const { result, inspected } = await run(settings, { validation: validationSet, callbacks: { onEval: (e) => void evals.push(e.validation.loss) } }, (parts) =>
    validationMetrics(parts.model, [collate(validationSet, tokenizer.padId)], () => parts.method.forwardOptions(false)).loss);
  // the first evaluation sets the best; no later one can improve by 1000: two strikes end the run
  assert.equal(result.status, 'early_stopped');
  assert.equal(result.step, 3);
  assert.equal(evals.length, 3);
  const bestIndex = evals.indexOf(Math.min(...evals));
  assert.equal(result.bestValidationLoss, evals[bestIndex]);
  assert.ok(Math.abs(inspected - evals[bestIndex]) < 1e-6, `result weights score ${inspected}, the best evaluation ${evals[bestIndex]}`);
  if (bestIndex !== 2) assert.equal(result.bestStep, bestIndex + 1);
});

test('a NaN loss stops the run with a clear error before any update', async () => {
  const model = loadModel(modelDir);
  const config = parseTrainingConfig(BASE);
  const method = createMethod(model, config.method, { seed: 1 });
  try {
    // poison a frozen base weight: every forward gives NaN
    const norm = model.parameters.get('transformer.encoder.final_layernorm.weight')!;
    tf.tidy(() => norm.assign(tf.fill(norm.shape, NaN)));
    const before = new Map([...method.trainable()].map(([n, v]) => [n, Array.from(v.dataSync())]));
    await assert.rejects(runTraining({ model, method, tokenizer, template, config, train: trainSet, validation: [] }), (err: unknown) => {
      assert.ok(err instanceof TrainingDivergedError);
      assert.match(err.message, /diverged at step 1: loss NaN.*not updated/);
      return true;
    });
    for (const [name, v] of method.trainable()) assert.deepEqual(Array.from(v.dataSync()), before.get(name), name);
  } finally {
    method.dispose();
    model.dispose();
  }
});

test('the tensor count stays flat from step to step, evaluation included', async () => {
  const counts: number[] = [];
  await run({ ...BASE, method: { type: 'full' }, max_steps: 8, eval_steps: 1 }, { validation: validationSet, callbacks: { onProgress: () => void counts.push(tf.memory().numTensors) } });
  assert.equal(counts.length, 8);
  assert.deepEqual(counts.slice(2), new Array(6).fill(counts[2]), `tensor counts ${counts.join(', ')}`);
});

test('early stopping without validation data is a setup error', async () => {
  await assert.rejects(run({ ...BASE, early_stopping_patience: 2 }), /early_stopping_patience needs validation data/);
});
