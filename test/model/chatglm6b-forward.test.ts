// The ChatGLM-6B (v1) architecture against the PyTorch reference: logits with THUDM's default positions
// and mask, f16 weights, a left-padded batch, the loss with THUDM-style labels, and the gradient of
// every parameter (the tied embedding gets the input and the output projection's gradient).
import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initCompute } from '../../src/compute/backend.ts';
import { ChatGlm6bModel } from '../../src/model/chatglm6b/model.ts';
import { readModelConfig } from '../../src/model/config.ts';
import { KvCache } from '../../src/model/kv-cache.ts';
import { loadModel } from '../../src/model/load.ts';
import { fileWeights } from '../../src/model/weights/checkpoint.ts';
import { glm1, tokenMaskFrom, TINY_CHATGLM6B } from './chatglm6b-fixtures.ts';
import { maxAbsDiff, take } from './fixtures.ts';

await initCompute();
const model = loadModel(TINY_CHATGLM6B);

test('loadModel reads a v1 folder as ChatGLM-6B', () => {
  assert.ok(model instanceof ChatGlm6bModel);
  assert.equal(model.config.architecture, 'chatglm6b');
});

test('forward logits match the reference for sequences of length 2, 10, 20 and 64', () => {
  for (const f of glm1.forward) {
    const diff = maxAbsDiff(take(model.forward(f.input_ids).logits), f.logits);
    assert.ok(diff < 1e-4, `${f.name}: max |Δlogit| ${diff}`);
  }
});

test('f16 weights, widened to float32 on load, give the f16 reference logits', () => {
  const f16 = ChatGlm6bModel.fromWeights(readModelConfig(TINY_CHATGLM6B), fileWeights(join(TINY_CHATGLM6B, 'model.f16.safetensors')));
  const ref = glm1.forward_f16_weights;
  const logits = take<number[][][]>(f16.forward(ref.input_ids).logits);
  f16.dispose();
  const diff = maxAbsDiff(logits, ref.logits);
  assert.ok(diff < 1e-4, `max |Δlogit| ${diff}`);
  // and f16 rounding is visible: the f32 weights give logits that differ by far more than the tolerance
  assert.ok(maxAbsDiff(take(model.forward(ref.input_ids).logits), logits) > 10 * 1e-4);
});

test('a left-padded batch matches the reference on every row, padding rows (uniform attention) included', () => {
  const ref = glm1.forward_padded_batch;
  const attentionMask = tokenMaskFrom(ref.real_token_from, ref.input_ids[0].length);
  const logits = take<number[][][]>(model.forward(ref.input_ids, { attentionMask }).logits);
  const diff = maxAbsDiff(logits, ref.logits);
  assert.ok(diff < 1e-4, `max |Δlogit| ${diff}`);
  // real rows equal the unpadded run
  const unpadded = take<number[][][]>(model.forward([ref.input_ids[0].slice(ref.real_token_from[0])]).logits);
  assert.ok(maxAbsDiff(logits[0].slice(ref.real_token_from[0]), unpadded[0]) < 1e-4);
});

test('loss with THUDM-style labels is the mean cross-entropy over the predicted tokens of the batch', () => {
  const ref = glm1.loss;
  const loss = take<number>(model.loss(ref.input_ids, ref.labels));
  assert.ok(Math.abs(loss - ref.loss) < 1e-5, `loss ${loss} vs ${ref.loss}`);
  const predicted = ref.labels.flatMap((row) => row.slice(1)).filter((l) => l !== -100).length;
  assert.equal(predicted, ref.num_predicted_tokens);
  // the same number from the per-position losses, recomputed from our logits
  const logits = take<number[][][]>(model.forward(ref.input_ids).logits);
  let sum = 0;
  ref.labels.forEach((row, b) =>
    row.slice(1).forEach((target, t) => {
      if (target === -100) return;
      const z = logits[b][t];
      const max = Math.max(...z);
      const ce = max + Math.log(z.reduce((s, v) => s + Math.exp(v - max), 0)) - z[target];
      assert.ok(Math.abs(ce - ref.per_position_loss[b][t]) < 1e-4, `position ${b},${t}`);
      sum += ce;
    }),
  );
  assert.ok(Math.abs(sum / predicted - ref.loss) < 1e-5);
});

test('gradients of the loss match the reference for every parameter; the tied embedding sums both uses', () => {
  const ref = glm1.loss;
  const step = glm1.full_finetune.train_step;
  assert.ok(Math.abs(step.loss_before - ref.loss) < 1e-6);
  const vars = [...model.parameters.entries()];
  assert.deepEqual(vars.map(([name]) => name).sort(), Object.keys(step.grad_l2_norm_per_tensor).sort()); // lm_head is no parameter
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
  // row 0 never occurs in the input: its gradient comes from the output projection alone
  const { rows, grad } = step.embedding_grad_rows;
  const embeddingGrad = byName.get('transformer.word_embeddings.weight')!;
  const diff = maxAbsDiff(take(tf.gather(embeddingGrad, rows)), grad);
  assert.ok(diff < 1e-5, `embedding rows ${rows}: max |Δgrad| ${diff}`);
  tf.dispose(Object.values(grads));
});

test('returnHidden gives the final-normed hidden states that the tied head maps to the logits', () => {
  const ids = glm1.forward[1].input_ids;
  const { logits, hidden } = model.forward(ids, { returnHidden: true });
  assert.deepEqual(hidden!.shape, [1, ids[0].length, model.config.hiddenSize]);
  const embedding = model.parameters.get('transformer.word_embeddings.weight')!;
  const recomputed = tf.tidy(() => tf.matMul(tf.reshape(hidden!, [-1, model.config.hiddenSize]), embedding, false, true));
  const diff = maxAbsDiff(take<number[][][]>(logits)[0], take(recomputed));
  hidden!.dispose();
  assert.ok(diff < 1e-5, `max |Δlogit| ${diff}`);
});

test('lastPositionOnly gives the last row of the full logits', () => {
  const f = glm1.forward[2];
  const last = take<number[][][]>(model.forward(f.input_ids, { lastPositionOnly: true }).logits);
  assert.equal(last[0].length, 1);
  assert.ok(maxAbsDiff(last[0][0], f.logits[0][f.input_ids[0].length - 1]) < 1e-4);
});

test('parameters and linear sites carry THUDM’s v1 names', () => {
  const h = model.config.hiddenSize;
  assert.deepEqual(model.parameters.get('transformer.layers.1.attention.query_key_value.weight')?.shape, [3 * h, h]);
  assert.equal(model.parameters.size, 1 + 2 * 12 + 2);
  assert.ok(!model.parameters.has('lm_head.weight'));
  assert.deepEqual(model.linearSites().slice(0, 4), [
    'transformer.layers.0.attention.query_key_value',
    'transformer.layers.0.attention.dense',
    'transformer.layers.0.mlp.dense_h_to_4h',
    'transformer.layers.0.mlp.dense_4h_to_h',
  ]);
});

test('explicit position ids, a ChatGLM2 cache and rows without <sop> are refused', () => {
  const ids = glm1.forward[0].input_ids;
  assert.throws(() => model.forward(ids, { positionIds: [[0, 1]] }), /positionIds is not accepted/);
  assert.throws(() => model.forward(ids, { cache: new KvCache(1) }), /a cache made by its createCache/);
  assert.throws(() => model.forward([[5, 6, 7]]), /no <sop>/);
});
