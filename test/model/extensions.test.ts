// The hooks fine-tuning methods use, proven against the reference: LoRA adapters per linear site,
// P-tuning v2 prefixes, a frozen replacement weight, and writing a merged model back.
import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initCompute } from '../../src/compute/backend.ts';
import type { FrozenLinearWeight } from '../../src/model/extensions.ts';
import { generate } from '../../src/model/generate.ts';
import { logSoftmax } from '../../src/model/sampling.ts';
import { loadModel, saveModel } from '../../src/model/load.ts';
import { GLM_FIXTURES, scratchDir, loadPeftLora, loadPtuningPrefix, maskedRows, maxAbsDiff, reference, take, TINY_CHATGLM3 } from './fixtures.ts';

await initCompute();
const model = loadModel(TINY_CHATGLM3);
const lora = loadPeftLora(join(GLM_FIXTURES, 'lora'));
const prefix = loadPtuningPrefix();

test('LoRA adapters on all four linear sites give the reference logits and loss', () => {
  assert.equal(lora.adapters.size, 4 * model.config.numLayers);
  for (const site of lora.adapters.keys()) assert.ok(model.linearSites().includes(site), site);
  for (const f of reference.lora.forward) {
    const diff = maxAbsDiff(take(model.forward(f.input_ids, { adapters: lora.adapters }).logits), f.logits);
    assert.ok(diff < 1e-4, `${f.name}: max |Δlogit| ${diff}`);
  }
  const loss = take<number>(model.loss(reference.loss.input_ids, reference.loss.labels, { adapters: lora.adapters }));
  assert.ok(Math.abs(loss - reference.lora.loss) < 1e-5, `loss ${loss} vs ${reference.lora.loss}`);
});

test('adapters apply per forward: the same model answers without them as the base', () => {
  const f = reference.forward[1];
  const diff = maxAbsDiff(take(model.forward(f.input_ids).logits), f.logits);
  assert.ok(diff < 1e-4);
});

test('a LoRA merged into the weights and written with the safetensors writer loads back with the LoRA logits', (t) => {
  const dir = scratchDir(t, 'merged');
  const merged = loadModel(TINY_CHATGLM3);
  for (const site of lora.adapters.keys()) {
    // W + scaling · B·A, computed through the adapter itself: delta(I) = scaling · (I·Aᵀ)·Bᵀ = (scaling · B·A)ᵀ
    const w = merged.parameters.get(`${site}.weight`)!;
    tf.tidy(() => w.assign(tf.add(w, tf.transpose(lora.adapters.get(site)!.delta(tf.eye(w.shape[1] as number) as tf.Tensor2D, false)))));
  }
  saveModel(merged, dir);
  merged.dispose();
  const reloaded = loadModel(dir);
  const f = reference.lora.forward[2];
  const diff = maxAbsDiff(take(reloaded.forward(f.input_ids).logits), f.logits);
  reloaded.dispose();
  assert.ok(diff < 1e-4, `max |Δlogit| ${diff}`);
});

test('a P-tuning v2 prefix gives the reference logits and loss', () => {
  for (const f of reference.ptuning.forward) {
    const diff = maxAbsDiff(take(model.forward(f.input_ids, { prefix }).logits), f.logits);
    assert.ok(diff < 1e-4, `${f.name}: max |Δlogit| ${diff}`);
  }
  const loss = take<number>(model.loss(reference.loss.input_ids, reference.loss.labels, { prefix }));
  assert.ok(Math.abs(loss - reference.ptuning.loss) < 1e-5, `loss ${loss} vs ${reference.ptuning.loss}`);
});

test('the prefix is laid out per layer as THUDM views it (key slot 2l, value 2l+1)', () => {
  const cache = model.createCache(1, prefix);
  reference.ptuning.prefix_past_key_values.forEach(({ layer, key, value }) => {
    // cache layout [batch, groups, P, d]; the reference lists [P, groups, d]
    const k = take<number[][][][]>(tf.transpose(cache.layers[layer].key, [0, 2, 1, 3]))[0];
    const v = take<number[][][][]>(tf.transpose(cache.layers[layer].value, [0, 2, 1, 3]))[0];
    assert.ok(maxAbsDiff(k, key) < 1e-7 && maxAbsDiff(v, value) < 1e-7, `layer ${layer}`);
  });
  cache.dispose();
});

test('a prefix with a left-padded batch: P ones prepended to the mask, positions from 0', () => {
  const ref = reference.ptuning.forward_padded_batch;
  const logits = take<number[][][]>(model.forward(ref.input_ids, { prefix, attentionMask: ref.attention_mask_without_prefix, positionIds: ref.position_ids }).logits);
  const diff = maxAbsDiff(maskedRows(logits, ref.attention_mask_without_prefix), maskedRows(ref.logits, ref.attention_mask_without_prefix));
  assert.ok(diff < 1e-4, `max |Δlogit| ${diff}`);
});

test('greedy generation with the prefix in the cache reproduces the reference, step by step', async () => {
  const ref = reference.ptuning.generation;
  for (const useCache of [true, false]) {
    const result = await generate(model, ref.prompt, { maxNewTokens: ref.max_new_tokens, stopIds: [], prefix, useCache });
    assert.deepEqual(result.tokens.map((t) => t.id), ref.tokens, `useCache ${useCache}`);
    result.tokens.forEach((t, k) => {
      const expected = logSoftmax(ref.step_logits[k])[t.id];
      assert.ok(Math.abs(t.logprob - expected) < 1e-4, `step ${k}: logprob ${t.logprob} vs ${expected}`);
    });
  }
});

test('gradients through the adapters match the reference LoRA gradients', () => {
  const names = [...lora.variables.keys()];
  const { value, grads } = tf.variableGrads(() => model.loss(reference.loss.input_ids, reference.loss.labels, { adapters: lora.adapters }), [...lora.variables.values()]);
  value.dispose();
  for (const name of names) {
    const diff = maxAbsDiff(take(grads[lora.variables.get(name)!.name]), reference.lora.train_step.grads[name]);
    assert.ok(diff < 1e-5, `${name}: max |Δgrad| ${diff}`);
  }
});

test('the gradient through the prefix matches the reference P-tuning gradient', () => {
  const prefixVar = tf.variable(prefix.clone(), true);
  const { value, grads } = tf.variableGrads(() => model.loss(reference.loss.input_ids, reference.loss.labels, { prefix: prefixVar }), [prefixVar]);
  const norm = take<number>(tf.norm(grads[prefixVar.name]));
  tf.dispose([value, prefixVar, ...Object.values(grads)]);
  const expected = reference.ptuning.train_step.grad_l2_norm_per_tensor['transformer.prefix_encoder.embedding.weight'];
  assert.ok(Math.abs(norm - expected) <= 1e-5 * expected, `|grad| ${norm} vs ${expected}`);
});

/** A frozen weight computed through tf.customGrad that recomputes W in the backward pass (as QLoRA's NF4 will). */
class RecomputedWeight implements FrozenLinearWeight {
  readonly shape: readonly [number, number];
  recomputations = 0;
  private readonly matmul: (x: tf.Tensor2D) => tf.Tensor2D;

  constructor(private readonly values: tf.Tensor2D) {
    this.shape = values.shape as [number, number];
    this.matmul = tf.customGrad((...args) => {
      const [x, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
      save([]); // nothing kept for backward
      return { value: tf.matMul(x, this.dequantize(), false, true), gradFunc: (dy: tf.Tensor2D) => tf.matMul(dy, this.dequantize()) };
    }) as (x: tf.Tensor2D) => tf.Tensor2D;
  }

  matmulTransposed(x: tf.Tensor2D): tf.Tensor2D {
    return this.matmul(x);
  }

  dequantize(): tf.Tensor2D {
    this.recomputations++;
    return tf.clone(this.values);
  }

  dispose(): void {
    this.values.dispose();
  }
}

test('a frozen replacement weight gives the same logits and passes gradients to its input', () => {
  const frozenModel = loadModel(TINY_CHATGLM3);
  const site = 'transformer.encoder.layers.0.self_attention.query_key_value';
  const weight = new RecomputedWeight(tf.clone(frozenModel.parameters.get(`${site}.weight`)!) as tf.Tensor2D);
  frozenModel.replaceLinearWeight(site, weight);
  assert.equal(frozenModel.parameters.has(`${site}.weight`), false);
  const f = reference.forward[2];
  const diff = maxAbsDiff(take(frozenModel.forward(f.input_ids).logits), f.logits);
  assert.ok(diff < 1e-4, `max |Δlogit| ${diff}`);
  // the embedding's gradient flows back through the frozen product: compare with the float model
  const embeddingGrad = (m: typeof model): number[][] => {
    const emb = m.parameters.get('transformer.embedding.word_embeddings.weight')!;
    emb.trainable = true;
    const { value, grads } = tf.variableGrads(() => m.loss(reference.loss.input_ids, reference.loss.labels), [emb]);
    emb.trainable = false;
    value.dispose();
    return take(grads[emb.name]);
  };
  const before = weight.recomputations;
  const frozenGrad = embeddingGrad(frozenModel);
  assert.equal(weight.recomputations - before, 2, 'W is produced once forward and once backward');
  assert.ok(maxAbsDiff(frozenGrad, embeddingGrad(model)) < 1e-5);
  frozenModel.dispose();
});
