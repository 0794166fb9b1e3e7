// full and freeze: which base parameters train, their gradients against the fixture's full fine-tune
// step, weight decay, and the whole model exported as an HF folder that loads back.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initCompute } from '../../src/compute/backend.ts';
import { loadModel } from '../../src/model/load.ts';
import { ensureTinyModel } from '../../src/model/tiny.ts';
import { createMethod } from '../../src/methods/create.ts';
import { maxAbsDiff, scratchDir, take, TINY_CHATGLM3 } from '../model/fixtures.ts';
import { globalNorm, lossAndGradients, methodReference, readJson } from './fixtures.ts';

await initCompute();
const model = loadModel(TINY_CHATGLM3);
const names = [...model.parameters.keys()];

test('full: every parameter trains, with the gradients of the reference full fine-tune step', () => {
  const method = createMethod(model, { type: 'full' }, { seed: 1 });
  assert.deepEqual([...method.trainable().keys()], names);
  const ref = methodReference.full_finetune.train_step;
  const { loss, norms, grads, strays } = lossAndGradients(model, method);
  assert.deepEqual(strays, []);
  assert.equal(norms.size, names.length);
  assert.ok(Math.abs(loss - ref.loss_before) < 1e-5, `loss ${loss} vs ${ref.loss_before}`);
  const norm = globalNorm(norms.values());
  assert.ok(Math.abs(norm - ref.grad_global_l2_norm) <= 1e-5 * ref.grad_global_l2_norm, `|grad| ${norm} vs ${ref.grad_global_l2_norm}`);
  for (const [name, expected] of Object.entries(ref.grad_l2_norm_per_tensor)) {
    assert.ok(Math.abs(norms.get(name)! - expected) <= 1e-4 * expected + 1e-7, `${name}: |grad| ${norms.get(name)} vs ${expected}`);
  }
  for (const [name, expected] of Object.entries(ref.grads_subset)) {
    const diff = maxAbsDiff(take(grads.get(name)!), expected);
    assert.ok(diff < 1e-5, `${name}: max |Δgrad| ${diff}`);
  }
  grads.forEach((g) => g.dispose());
  method.dispose();
  assert.ok([...model.parameters.values()].every((v) => !v.trainable), 'dispose marks the base frozen again');
});

test('freeze: exactly the last N layers train (and the output layer and final norm when asked); only they get gradients', () => {
  const layerOf = (name: string): number | null => {
    const m = /\.layers\.(\d+)\./.exec(name);
    return m ? Number(m[1]) : null;
  };
  const method = createMethod(model, { type: 'freeze', layers: 1 }, { seed: 1 });
  const expected = names.filter((n) => layerOf(n) === 1);
  assert.deepEqual([...method.trainable().keys()], expected);
  assert.deepEqual(names.filter((n) => model.parameters.get(n)!.trainable), expected, 'only those are marked trainable');
  const { norms, grads, strays } = lossAndGradients(model, method);
  grads.forEach((g) => g.dispose());
  assert.deepEqual(strays, []);
  assert.deepEqual([...norms.keys()].sort(), [...expected].sort());
  for (const [name, norm] of norms) assert.ok(norm > 0, name);
  const ref = methodReference.full_finetune.train_step.grad_l2_norm_per_tensor;
  for (const name of expected) assert.ok(Math.abs(norms.get(name)! - ref[name]) <= 1e-4 * ref[name] + 1e-7, name);
  const { frozenBytes, trainableBytes } = method.memory();
  assert.equal(frozenBytes + trainableBytes, 4 * [...model.parameters.values()].reduce((n, v) => n + v.size, 0));
  method.dispose();

  const withOutput = createMethod(model, { type: 'freeze', layers: 2, also_output_layer: true }, { seed: 1 });
  assert.deepEqual(
    [...withOutput.trainable().keys()].sort(),
    names.filter((n) => layerOf(n) !== null || n === 'transformer.output_layer.weight' || n === 'transformer.encoder.final_layernorm.weight').sort(),
  );
  withOutput.dispose();
  assert.throws(() => createMethod(model, { type: 'freeze', layers: 3 }, { seed: 1 }), /layers 3 exceeds the model's 2 layers/);
});

test('weight decay applies to weights, not to norms and biases', () => {
  const method = createMethod(model, { type: 'full' }, { seed: 1 });
  const exempt = names.filter((n) => !method.decays(n));
  assert.deepEqual(exempt, names.filter((n) => n.endsWith('layernorm.weight') || n.endsWith('.bias')));
  assert.ok(exempt.length === 3 * model.config.numLayers + 1, `norms and qkv biases: ${exempt}`);
  method.dispose();
});

test('export writes an HF folder: config.json carried over, the tokenizer copied, the trained weights loading back exactly', async (t) => {
  const base = ensureTinyModel(join(scratchDir(t, 'tiny-base'), 'glm-tiny'));
  const tiny = loadModel(base);
  const method = createMethod(tiny, { type: 'freeze', layers: 1 }, { seed: 1 });
  for (const v of method.trainable().values()) tf.tidy(() => v.assign(tf.add(v, 0.01))); // as if trained
  const ids = [[1, 5, 9, 40, 7]];
  const trained = take<number[][][]>(tiny.forward(ids).logits);
  const dir = join(scratchDir(t, 'freeze-export'), 'out');
  await method.export(dir, { baseDir: base });
  method.dispose();
  tiny.dispose();
  assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'model.safetensors', 'tokenizer_config.json']);
  assert.deepEqual(readJson(join(dir, 'config.json')), readJson(join(base, 'config.json')));
  assert.deepEqual(readFileSync(join(dir, 'tokenizer_config.json')), readFileSync(join(base, 'tokenizer_config.json')));
  const reloaded = loadModel(dir);
  assert.equal(maxAbsDiff(take(reloaded.forward(ids).logits), trained), 0);
  reloaded.dispose();
});
