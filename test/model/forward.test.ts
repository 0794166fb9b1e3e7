// The ChatGLM2 architecture against the PyTorch reference: logits, bf16 weights, padded batches, loss.
import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initCompute } from '../../src/compute/backend.ts';
import { readModelConfig } from '../../src/model/config.ts';
import { GlmModel } from '../../src/model/glm.ts';
import { loadModel } from '../../src/model/load.ts';
import { fileWeights } from '../../src/model/weights/checkpoint.ts';
import { maskedRows, maxAbsDiff, reference, take, TINY_CHATGLM3 } from './fixtures.ts';

await initCompute();
const model = loadModel(TINY_CHATGLM3);

test('forward logits match the reference for sequences of length 1, 8 and 20', () => {
  for (const f of reference.forward) {
    const { logits } = model.forward(f.input_ids);
    const diff = maxAbsDiff(take(logits), f.logits);
    assert.ok(diff < 1e-4, `${f.name}: max |Δlogit| ${diff}`);
  }
});

test('bf16 weights, widened to float32 on load, give the bf16 reference logits', () => {
  const bf16 = GlmModel.fromWeights(readModelConfig(TINY_CHATGLM3), fileWeights(join(TINY_CHATGLM3, 'model.bf16.safetensors')));
  const ref = reference.forward_bf16_weights;
  const logits = take<number[][][]>(bf16.forward(ref.input_ids).logits);
  bf16.dispose();
  const diff = maxAbsDiff(logits, ref.logits);
  assert.ok(diff < 1e-4, `max |Δlogit| ${diff}`);
  // and bf16 rounding is visible: the f32 weights give logits that differ by far more than the tolerance
  const f32 = take<number[][][]>(model.forward(ref.input_ids).logits);
  assert.ok(maxAbsDiff(f32, logits) > 0.01);
});

test('a left-padded batch matches the reference on every real token', () => {
  const ref = reference.forward_padded_batch;
  const logits = take<number[][][]>(model.forward(ref.input_ids, { attentionMask: ref.attention_mask, positionIds: ref.position_ids }).logits);
  const diff = maxAbsDiff(maskedRows(logits, ref.attention_mask), maskedRows(ref.logits, ref.attention_mask));
  assert.ok(diff < 1e-4, `max |Δlogit| ${diff}`);
  for (const row of logits.flat(2)) assert.ok(Number.isFinite(row)); // padding rows stay finite too
});

test('position ids default to the padding convention of THUDM tokenizers', () => {
  const ref = reference.forward_padded_batch;
  const withDefault = take<number[][][]>(model.forward(ref.input_ids, { attentionMask: ref.attention_mask }).logits);
  const diff = maxAbsDiff(maskedRows(withDefault, ref.attention_mask), maskedRows(ref.logits, ref.attention_mask));
  assert.ok(diff < 1e-4, `max |Δlogit| ${diff}`);
});

test('loss is the mean cross-entropy over all predicted tokens of the batch', () => {
  const ref = reference.loss;
  const loss = take<number>(model.loss(ref.input_ids, ref.labels));
  assert.ok(Math.abs(loss - ref.loss) < 1e-5, `loss ${loss} vs ${ref.loss}`);
  // the same number from the per-position losses the reference lists (mean over predicted tokens)
  const perPosition = ref.per_position_loss.flat().filter((_, i) => ref.labels.map((r) => r.slice(1)).flat()[i] !== -100);
  assert.equal(perPosition.length, ref.num_predicted_tokens);
  assert.ok(Math.abs(loss - perPosition.reduce((a, b) => a + b, 0) / perPosition.length) < 1e-5);
});

test('gradients of the loss match the reference for every parameter', () => {
  const ref = reference.loss;
  const step = reference.full_finetune.train_step;
  const vars = [...model.parameters.entries()];
  for (const [, v] of vars) v.trainable = true;
  const { value, grads } = tf.variableGrads(() => model.loss(ref.input_ids, ref.labels), vars.map(([, v]) => v));
  for (const [, v] of vars) v.trainable = false;
  value.dispose();
  const byName = new Map(vars.map(([name, v]) => [name, grads[v.name]]));
  let squares = 0;
  for (const [name, g] of byName) {
    const norm = take<number>(tf.norm(g));
    squares += norm * norm;
    const expected = step.grad_l2_norm_per_tensor[name];
    assert.ok(Math.abs(norm - expected) <= 1e-5 * expected + 1e-7, `${name}: |grad| ${norm} vs ${expected}`);
  }
  assert.ok(Math.abs(Math.sqrt(squares) - step.grad_global_l2_norm) <= 1e-5 * step.grad_global_l2_norm);
  for (const [name, expected] of Object.entries(step.grads_subset)) {
    const diff = maxAbsDiff(Array.from(byName.get(name)!.dataSync()), expected);
    assert.ok(diff < 1e-5, `${name}: max |Δgrad| ${diff}`);
  }
  tf.dispose(Object.values(grads));
});

test('returnHidden gives the final-normed hidden states that the output layer maps to the logits', () => {
  const ids = reference.forward[1].input_ids;
  const { logits, hidden } = model.forward(ids, { returnHidden: true });
  assert.deepEqual(hidden!.shape, [1, ids[0].length, model.config.hiddenSize]);
  const output = model.parameters.get('transformer.output_layer.weight')!;
  const recomputed = tf.tidy(() => tf.matMul(tf.reshape(hidden!, [-1, model.config.hiddenSize]), output, false, true));
  const diff = maxAbsDiff(take<number[][][]>(logits)[0], take(recomputed));
  hidden!.dispose();
  assert.ok(diff < 1e-5, `max |Δlogit| ${diff}`);
});

test('lastPositionOnly gives the last row of the full logits', () => {
  const f = reference.forward[2];
  const last = take<number[][][]>(model.forward(f.input_ids, { lastPositionOnly: true }).logits);
  assert.equal(last[0].length, 1);
  assert.ok(maxAbsDiff(last[0][0], f.logits[0][f.input_ids[0].length - 1]) < 1e-4);
});

test('dropout is off in eval mode, repeatable with a seed in training mode', () => {
  const { config } = model;
  assert.ok(config.architecture === 'chatglm2');
  const dropoutModel = GlmModel.fromWeights({ ...config, hiddenDropout: 0.1, attentionDropout: 0.1 }, fileWeights(join(TINY_CHATGLM3, 'model.safetensors')));
  const f = reference.forward[1];
  const evalLogits = take(dropoutModel.forward(f.input_ids).logits);
  const a = take(dropoutModel.forward(f.input_ids, { training: true, dropoutSeed: 7 }).logits);
  const b = take(dropoutModel.forward(f.input_ids, { training: true, dropoutSeed: 7 }).logits);
  const c = take(dropoutModel.forward(f.input_ids, { training: true, dropoutSeed: 8 }).logits);
  dropoutModel.dispose();
  assert.ok(maxAbsDiff(evalLogits, f.logits) < 1e-4);
  assert.equal(maxAbsDiff(a, b), 0);
  assert.ok(maxAbsDiff(a, c) > 1e-3);
  assert.ok(maxAbsDiff(a, evalLogits) > 1e-3);
});

test('parameters are addressable by THUDM name', () => {
  const qkv = model.parameters.get('transformer.encoder.layers.1.self_attention.query_key_value.weight');
  assert.deepEqual(qkv?.shape, [(4 + 2 * 2) * 16, 64]);
  assert.equal(model.parameters.size, 2 + 2 * 7 + 1);
  assert.deepEqual(model.linearSites().slice(0, 4), [
    'transformer.encoder.layers.0.self_attention.query_key_value',
    'transformer.encoder.layers.0.self_attention.dense',
    'transformer.encoder.layers.0.mlp.dense_h_to_4h',
    'transformer.encoder.layers.0.mlp.dense_4h_to_h',
  ]);
});
