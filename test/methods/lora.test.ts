// LoRA against the PEFT fixture: logits and loss through adapters loaded from test/fixtures/glm/lora,
// merge/unmerge, the PEFT folder written back byte for byte, PEFT's initialisation, gradients, dropout.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initCompute } from '../../src/compute/backend.ts';
import { loadModel } from '../../src/model/load.ts';
import { createMethod } from '../../src/methods/create.ts';
import { loadLora } from '../../src/methods/lora/load.ts';
import { LoraModel } from '../../src/methods/lora/model.ts';
import type { MethodConfigInput } from '../../src/methods/config.ts';
import { GLM_FIXTURES, maxAbsDiff, reference, scratchDir, take, TINY_CHATGLM3 } from '../model/fixtures.ts';
import { globalNorm, lossAndGradients, lossBatch, methodReference, readJson } from './fixtures.ts';

await initCompute();
const model = loadModel(TINY_CHATGLM3);
const FIXTURE_ADAPTER = join(GLM_FIXTURES, 'lora');
// the fixture adapter's settings (adapter_config.json: r 4, lora_alpha 8, all four modules)
const FIXTURE_CONFIG: MethodConfigInput = { type: 'lora', r: 4, alpha: 8, dropout: 0, target_modules: ['query_key_value', 'dense', 'dense_h_to_4h', 'dense_4h_to_h'] };

function logitsOf(options: object, ids = reference.lora.forward[2].input_ids): number[][][] {
  return take(model.forward(ids, options).logits);
}

test('an adapter loaded from the PEFT fixture gives the reference LoRA logits and loss', () => {
  const lora = loadLora(model, FIXTURE_ADAPTER);
  assert.equal(lora.adapters.size, 4 * model.config.numLayers);
  for (const f of reference.lora.forward) {
    const diff = maxAbsDiff(logitsOf({ adapters: lora.adapters }, f.input_ids), f.logits);
    assert.ok(diff < 1e-4, `${f.name}: max |Δlogit| ${diff}`);
  }
  const loss = take<number>(model.loss(lossBatch.input_ids, lossBatch.labels, { adapters: lora.adapters }));
  assert.ok(Math.abs(loss - reference.lora.loss) < 1e-5, `loss ${loss} vs ${reference.lora.loss}`);
  lora.dispose();
});

test('adapters loaded side by side serve per pass on one base: the fixture adapter and the one after a training step', () => {
  const first = loadLora(model, FIXTURE_ADAPTER);
  const stepped = loadLora(model, join(GLM_FIXTURES, 'lora-after-step'));
  const loss = (adapters?: typeof first.adapters): number => take(model.loss(lossBatch.input_ids, lossBatch.labels, { adapters }));
  for (let round = 0; round < 2; round++) {
    assert.ok(Math.abs(loss(stepped.adapters) - methodReference.lora.train_step.loss_after) < 1e-5, 'adapter after the step: loss_after');
    assert.ok(Math.abs(loss(first.adapters) - reference.lora.loss) < 1e-5, 'fixture adapter: its loss');
    assert.ok(Math.abs(loss() - reference.loss.loss) < 1e-5, 'no adapter: the base loss');
  }
  first.dispose();
  stepped.dispose();
});

test("target modules match as PEFT matches them, by name suffix: 'dense' is self_attention.dense only", () => {
  const method = createMethod(model, { type: 'lora', target_modules: ['dense'] }, { seed: 1 });
  assert.deepEqual([...method.trainable().keys()], [0, 1].flatMap((l) =>
    ['lora_A', 'lora_B'].map((m) => `base_model.model.transformer.encoder.layers.${l}.self_attention.dense.${m}.weight`)));
  method.dispose();
});

test('merging adds scaling·B·A to the weights (same logits without adapters); unmerging restores W', () => {
  const method = createMethod(model, FIXTURE_CONFIG, { seed: 1, initFrom: FIXTURE_ADAPTER }) as LoraModel;
  const site = 'transformer.encoder.layers.1.mlp.dense_h_to_4h.weight';
  const before = take<number[][]>(tf.clone(model.parameters.get(site)!));
  method.merge();
  const options = method.forwardOptions(false);
  assert.equal(options.adapters, undefined, 'a merged adapter is not applied a second time');
  for (const f of reference.lora.forward) {
    const diff = maxAbsDiff(logitsOf(options, f.input_ids), f.logits);
    assert.ok(diff < 1e-4, `${f.name} merged: max |Δlogit| ${diff}`);
  }
  assert.ok(maxAbsDiff(take(tf.clone(model.parameters.get(site)!)), before) > 1e-3, 'the weight changed');
  assert.throws(() => method.forwardOptions(true), /unmerge it before training/);
  method.unmerge();
  const restored = maxAbsDiff(take(tf.clone(model.parameters.get(site)!)), before);
  assert.ok(restored <= 1e-6, `unmerged W differs by ${restored}`);
  const f = reference.forward[2];
  assert.ok(maxAbsDiff(logitsOf({}, f.input_ids), f.logits) < 1e-4, 'the base answers as before');
  method.dispose();
});

test('export writes the PEFT folder: the fixture keys and config, byte-identical weights, the same logits loaded back', async (t) => {
  const dir = scratchDir(t, 'lora-export');
  const method = createMethod(model, FIXTURE_CONFIG, { seed: 1, initFrom: FIXTURE_ADAPTER });
  await method.export(dir, { baseDir: TINY_CHATGLM3 });
  method.dispose();
  assert.deepEqual(readFileSync(join(dir, 'adapter_model.safetensors')), readFileSync(join(FIXTURE_ADAPTER, 'adapter_model.safetensors')));
  assert.deepEqual(readJson(join(dir, 'adapter_config.json')), readJson(join(FIXTURE_ADAPTER, 'adapter_config.json')));
  const lora = loadLora(model, dir);
  const f = reference.lora.forward[1];
  assert.ok(maxAbsDiff(logitsOf({ adapters: lora.adapters }, f.input_ids), f.logits) < 1e-4);
  lora.dispose();
});

test("the method's trainable tensors are the PEFT keys, and their gradients are the reference's", () => {
  const method = createMethod(model, FIXTURE_CONFIG, { seed: 1, initFrom: FIXTURE_ADAPTER });
  const ref = methodReference.lora.train_step;
  assert.deepEqual([...method.trainable().keys()].sort(), Object.keys(ref.grads).sort());
  const { loss, norms, grads, strays } = lossAndGradients(model, method);
  assert.deepEqual(strays, [], 'no variable outside the method gets a gradient');
  assert.ok(Math.abs(loss - ref.loss_before) < 1e-5, `loss ${loss} vs ${ref.loss_before}`);
  for (const [name, g] of grads) {
    const diff = maxAbsDiff(take(g), ref.grads[name]);
    assert.ok(diff < 1e-5, `${name}: max |Δgrad| ${diff}`);
  }
  const norm = globalNorm(norms.values());
  assert.ok(Math.abs(norm - ref.grad_global_l2_norm) <= 1e-5 * ref.grad_global_l2_norm, `|grad| ${norm} vs ${ref.grad_global_l2_norm}`);
  assert.ok([...method.trainable().keys()].every((name) => method.decays(name)), 'lora_A/lora_B take weight decay');
  method.dispose();
});

test("a new adapter starts as PEFT's: lora_A ~ U(−1/√in, 1/√in) from the seed, lora_B zero, the base's logits", () => {
  const config: MethodConfigInput = { type: 'lora', r: 8, alpha: 16, target_modules: ['query_key_value', 'dense_4h_to_h'] };
  const method = createMethod(model, config, { seed: 7 });
  const names = [...method.trainable().keys()];
  assert.equal(names.length, 2 * 2 * model.config.numLayers);
  const a = method.trainable().get('base_model.model.transformer.encoder.layers.0.mlp.dense_4h_to_h.lora_A.weight')!;
  const inFeatures = model.parameters.get('transformer.encoder.layers.0.mlp.dense_4h_to_h.weight')!.shape[1]!;
  assert.deepEqual(a.shape, [8, inFeatures]);
  const values = a.dataSync() as Float32Array;
  const bound = 1 / Math.sqrt(inFeatures);
  const max = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assert.ok(max <= bound && max > 0.95 * bound, `max |A| ${max}, bound ${bound}`);
  const variance = values.reduce((s, v) => s + v * v, 0) / values.length;
  assert.ok(Math.abs(variance / (bound * bound / 3) - 1) < 0.15, `variance ${variance} vs U's ${bound * bound / 3}`);
  for (const [name, v] of method.trainable()) if (name.includes('lora_B')) assert.equal(take<number>(tf.max(tf.abs(v))), 0, name);
  const f = reference.forward[2];
  assert.ok(maxAbsDiff(logitsOf(method.forwardOptions(false), f.input_ids), f.logits) < 1e-4);

  const again = createMethod(model, config, { seed: 7 });
  const other = createMethod(model, config, { seed: 8 });
  const key = names[0];
  assert.deepEqual(again.trainable().get(key)!.dataSync(), method.trainable().get(key)!.dataSync(), 'same seed, same values');
  assert.notDeepEqual(other.trainable().get(key)!.dataSync(), method.trainable().get(key)!.dataSync(), 'another seed, other values');
  for (const m of [method, again, other]) m.dispose();
});

test('LoRA dropout applies in training only, with the same mask for the same seed', () => {
  const method = createMethod(model, { ...FIXTURE_CONFIG, dropout: 0.5 }, { seed: 1, initFrom: FIXTURE_ADAPTER });
  const loss = (training: boolean, seed?: number): number => take(model.loss(lossBatch.input_ids, lossBatch.labels, method.forwardOptions(training, seed)));
  assert.ok(Math.abs(loss(false) - reference.lora.loss) < 1e-5, 'eval: no dropout');
  const [a, b, c] = [loss(true, 11), loss(true, 11), loss(true, 12)];
  assert.equal(a, b);
  assert.notEqual(a, c);
  assert.ok(Math.abs(a - reference.lora.loss) > 1e-4, 'training drops inputs');
  method.dispose();
});

test('a LoRA model merged for export is an HF folder that loads with the adapted logits', async (t) => {
  const dir = scratchDir(t, 'lora-merged');
  const method = createMethod(model, FIXTURE_CONFIG, { seed: 1, initFrom: FIXTURE_ADAPTER });
  await method.export(dir, { merged: true, baseDir: TINY_CHATGLM3 });
  method.dispose();
  assert.deepEqual(readJson(join(dir, 'config.json')), readJson(join(TINY_CHATGLM3, 'config.json')));
  const merged = loadModel(dir);
  for (const f of reference.lora.forward) {
    const diff = maxAbsDiff(take(merged.forward(f.input_ids).logits), f.logits);
    assert.ok(diff < 1e-4, `${f.name}: max |Δlogit| ${diff}`);
  }
  merged.dispose();
});

test('continuing from an adapter of other settings, or loading one the model has no module for, is refused by name', (t) => {
  assert.throws(() => createMethod(model, { ...FIXTURE_CONFIG, r: 8 }, { seed: 1, initFrom: FIXTURE_ADAPTER }), /r 4 vs 8/);
  assert.throws(() => createMethod(model, { ...FIXTURE_CONFIG, target_modules: ['dense'] }, { seed: 1, initFrom: FIXTURE_ADAPTER }), /target_modules/);
  const dir = scratchDir(t, 'lora-foreign');
  mkdirSync(dir, { recursive: true });
  const config = readJson(join(FIXTURE_ADAPTER, 'adapter_config.json')) as Record<string, unknown>;
  writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ ...config, target_modules: ['q_proj', 'v_proj'] }));
  writeFileSync(join(dir, 'adapter_model.safetensors'), readFileSync(join(FIXTURE_ADAPTER, 'adapter_model.safetensors')));
  assert.throws(() => loadLora(model, dir), /target module "q_proj" matches no linear layer/);
  writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ ...config, use_dora: true }));
  assert.throws(() => loadLora(model, dir), /use_dora is not supported/);
});

test('a method disposed leaves no tensors behind and the base untouched', () => {
  const before = tf.memory().numTensors;
  const method = createMethod(model, FIXTURE_CONFIG, { seed: 1, initFrom: FIXTURE_ADAPTER }) as LoraModel;
  lossAndGradients(model, method, true, 3).grads.forEach((g) => g.dispose());
  method.merge();
  method.dispose(); // unmerges
  assert.equal(tf.memory().numTensors, before);
  const f = reference.forward[1];
  assert.ok(maxAbsDiff(logitsOf({}, f.input_ids), f.logits) < 1e-4);
});
