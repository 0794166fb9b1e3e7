// The hooks fine-tuning methods use, on ChatGLM-6B (v1), against the reference: the PEFT LoRA fixture
// adapter (loaded by src/methods/lora) on THUDM's v1 site names, the P-tuning v2 prefix in v1's layout, a
// frozen (int8) replacement weight, and writing a merged model back.
import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initCompute } from '../../src/compute/backend.ts';
import { QuantizedLinearWeight } from '../../src/compute/frozen-weight.ts';
import { generate } from '../../src/model/generate.ts';
import { loadModel, saveModel } from '../../src/model/load.ts';
import { logSoftmax } from '../../src/model/sampling.ts';
import { fileWeights } from '../../src/model/weights/checkpoint.ts';
import { loadLora, readLoraLayers } from '../../src/methods/lora/load.ts';
import { peftKey } from '../../src/methods/lora/peft-format.ts';
import { GLM1_FIXTURES, glm1, loadGlm1Prefix, tokenMaskFrom, TINY_CHATGLM6B } from './chatglm6b-fixtures.ts';
import { maxAbsDiff, scratchDir, take } from './fixtures.ts';

await initCompute();
const model = loadModel(TINY_CHATGLM6B);
const LORA_DIR = join(GLM1_FIXTURES, 'lora');
const lora = loadLora(model, LORA_DIR);
const prefix = loadGlm1Prefix();
const { input_ids: lossIds, labels } = glm1.loss;

test('LoRA on query_key_value and attention.dense gives the reference logits and loss', () => {
  // target_modules ["query_key_value", "dense"]: "dense" is attention.dense only (PEFT matches a suffix)
  assert.deepEqual([...lora.adapters.keys()], model.linearSites().filter((site) => site.includes('.attention.')));
  for (const f of glm1.lora.forward) {
    const diff = maxAbsDiff(take(model.forward(f.input_ids, { adapters: lora.adapters }).logits), f.logits);
    assert.ok(diff < 1e-4, `${f.name}: max |Δlogit| ${diff}`);
  }
  const loss = take<number>(model.loss(lossIds, labels, { adapters: lora.adapters }));
  assert.ok(Math.abs(loss - glm1.lora.loss) < 1e-5, `loss ${loss} vs ${glm1.lora.loss}`);
  // adapters apply per pass: the same model answers without them as the base
  assert.ok(maxAbsDiff(take(model.forward(glm1.forward[1].input_ids).logits), glm1.forward[1].logits) < 1e-4);
});

test('gradients through the adapters match the reference LoRA gradients', () => {
  const step = glm1.lora.train_step;
  const { layers } = readLoraLayers(model, LORA_DIR);
  const variables = new Map(layers.flatMap((l) => [[peftKey(l.site, 'lora_A'), l.lora_A], [peftKey(l.site, 'lora_B'), l.lora_B]] as const));
  for (const v of variables.values()) v.trainable = true;
  const adapters = new Map(layers.map((l) => [l.site, l.adapter()]));
  const { value, grads } = tf.variableGrads(() => model.loss(lossIds, labels, { adapters }), [...variables.values()]);
  assert.ok(Math.abs(take<number>(value) - step.loss_before) < 1e-5);
  assert.deepEqual([...variables.keys()].sort(), Object.keys(step.grads).sort());
  let squares = 0;
  for (const [name, variable] of variables) {
    const grad = grads[variable.name];
    const norm = take<number>(tf.norm(grad));
    squares += norm * norm;
    assert.ok(Math.abs(norm - step.grad_l2_norm_per_tensor[name]) <= 1e-5 * step.grad_l2_norm_per_tensor[name], `${name}: |grad| ${norm}`);
    const diff = maxAbsDiff(take(grad), step.grads[name]);
    assert.ok(diff < 1e-5, `${name}: max |Δgrad| ${diff}`);
  }
  assert.ok(Math.abs(Math.sqrt(squares) - step.grad_global_l2_norm) <= 1e-5 * step.grad_global_l2_norm);
  layers.forEach((l) => l.dispose());
});

test('a LoRA merged into the weights, saved and loaded back, gives the LoRA logits; lm_head is written tied', (t) => {
  const dir = scratchDir(t, 'chatglm6b-merged');
  const merged = loadModel(TINY_CHATGLM6B);
  const { layers } = readLoraLayers(merged, LORA_DIR);
  for (const layer of layers) {
    const w = merged.parameters.get(`${layer.site}.weight`)!;
    tf.tidy(() => w.assign(tf.add(w, layer.deltaWeight()))); // W + scaling · B·A
    layer.dispose();
  }
  saveModel(merged, dir);
  merged.dispose();
  const saved = fileWeights(join(dir, 'model.safetensors'));
  assert.deepEqual(saved.read('lm_head.weight'), saved.read('transformer.word_embeddings.weight'));
  const reloaded = loadModel(dir);
  assert.equal(reloaded.config.architecture, 'chatglm6b');
  const f = glm1.lora.forward[2];
  const diff = maxAbsDiff(take(reloaded.forward(f.input_ids).logits), f.logits);
  reloaded.dispose();
  assert.ok(diff < 1e-4, `max |Δlogit| ${diff}`);
});

test('the P-tuning prefix has v1’s width and layout (layer l: key slot 2l, value 2l+1, [P, H, d] each)', () => {
  const { numLayers: L, hiddenSize: h } = model.config;
  assert.deepEqual(prefix.shape, [glm1.ptuning.pre_seq_len, L * 2 * h]);
  const cache = model.createCache(1, prefix);
  glm1.ptuning.prefix_past_key_values.forEach(({ layer, key, value }) => {
    // cache layout [batch, heads, P, d]; the reference lists [P, heads, d]
    const k = take<number[][][][]>(tf.transpose(cache.layers[layer].key, [0, 2, 1, 3]))[0];
    const v = take<number[][][][]>(tf.transpose(cache.layers[layer].value, [0, 2, 1, 3]))[0];
    assert.ok(maxAbsDiff(k, key) < 1e-7 && maxAbsDiff(v, value) < 1e-7, `layer ${layer}`);
  });
  cache.dispose();
});

test('a P-tuning v2 prefix gives the reference logits and loss', () => {
  for (const f of glm1.ptuning.forward) {
    const diff = maxAbsDiff(take(model.forward(f.input_ids, { prefix }).logits), f.logits);
    assert.ok(diff < 1e-4, `${f.name}: max |Δlogit| ${diff}`);
  }
  const loss = take<number>(model.loss(lossIds, labels, { prefix }));
  assert.ok(Math.abs(loss - glm1.ptuning.loss) < 1e-5, `loss ${loss} vs ${glm1.ptuning.loss}`);
});

test('a prefix with a left-padded batch: every query, padding rows included, sees the P prefix slots', () => {
  const ref = glm1.ptuning.forward_padded_batch;
  const attentionMask = tokenMaskFrom(ref.real_token_from, ref.input_ids[0].length);
  const logits = take<number[][][]>(model.forward(ref.input_ids, { prefix, attentionMask }).logits);
  const diff = maxAbsDiff(logits, ref.logits);
  assert.ok(diff < 1e-4, `max |Δlogit| ${diff}`);
});

test('greedy generation with the prefix reproduces the reference, with the cache and without', async () => {
  const ref = glm1.ptuning.generation;
  for (const useCache of [true, false]) {
    const result = await generate(model, ref.prompt, { maxNewTokens: ref.max_new_tokens, stopIds: [], prefix, useCache });
    assert.deepEqual(result.tokens.map((t) => t.id), ref.tokens, `useCache ${useCache}`);
    result.tokens.forEach((t, k) => {
      const expected = logSoftmax(ref.step_logits[k])[t.id];
      assert.ok(Math.abs(t.logprob - expected) < 1e-4, `step ${k}: logprob ${t.logprob} vs ${expected}`);
    });
  }
});

test('the gradient through the prefix matches the reference P-tuning gradient', () => {
  const step = glm1.ptuning.train_step;
  const prefixVar = tf.variable(prefix.clone(), true);
  const { value, grads } = tf.variableGrads(() => model.loss(lossIds, labels, { prefix: prefixVar }), [prefixVar]);
  assert.ok(Math.abs(take<number>(value) - step.loss_before) < 1e-5);
  const norm = take<number>(tf.norm(grads[prefixVar.name]));
  tf.dispose([prefixVar, ...Object.values(grads)]);
  const expected = step.grad_l2_norm_per_tensor['transformer.prefix_encoder.embedding.weight'];
  assert.ok(Math.abs(norm - expected) <= 1e-5 * expected, `|grad| ${norm} vs ${expected}`);
});

test('an int8 frozen weight computes as its dequantized values and passes gradients to its input', () => {
  const site = 'transformer.layers.0.mlp.dense_h_to_4h';
  const frozenModel = loadModel(TINY_CHATGLM6B);
  const reference = loadModel(TINY_CHATGLM6B); // the same model with W set to the dequantized values
  const w = frozenModel.parameters.get(`${site}.weight`)!;
  const frozen = QuantizedLinearWeight.int8(w.dataSync() as Float32Array, w.shape as [number, number]);
  const dequantized = frozen.dequantize();
  reference.parameters.get(`${site}.weight`)!.assign(dequantized);
  dequantized.dispose();
  frozenModel.replaceLinearWeight(site, frozen);
  assert.equal(frozenModel.parameters.has(`${site}.weight`), false);
  const ids = glm1.forward[2].input_ids;
  const frozenLogits = take<number[][][]>(frozenModel.forward(ids).logits);
  assert.ok(maxAbsDiff(frozenLogits, take(reference.forward(ids).logits)) < 1e-5);
  assert.ok(maxAbsDiff(frozenLogits, glm1.forward[2].logits) > 1e-4); // int8 rounding is visible
  const embeddingGrad = (m: typeof model): number[][] => {
    const emb = m.parameters.get('transformer.word_embeddings.weight')!;
    emb.trainable = true;
    const { value, grads } = tf.variableGrads(() => m.loss(lossIds, labels), [emb]);
    emb.trainable = false;
    value.dispose();
    return take(grads[emb.name]);
  };
  assert.ok(maxAbsDiff(embeddingGrad(frozenModel), embeddingGrad(reference)) < 1e-5);
  // the frozen weight is written (dequantized) with the other tensors
  assert.ok(frozenModel.weightsToWrite().some((e) => e.name === `${site}.weight`));
  frozenModel.dispose();
  reference.dispose();
});
