// P-tuning v2 against THUDM's layout and the fixture: logits and loss through the prefix encoder loaded
// from test/fixtures/glm/ptuning, its gradient, the folder written back, prefix_projection, dropout.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initCompute } from '../../src/compute/backend.ts';
import { loadModel } from '../../src/model/load.ts';
import { parseModelConfig } from '../../src/model/config.ts';
import { GlmModel } from '../../src/model/glm.ts';
import { randomWeights } from '../../src/model/tiny.ts';
import { memoryWeights, fileWeights } from '../../src/model/weights/checkpoint.ts';
import { createMethod } from '../../src/methods/create.ts';
import { loadPrefix } from '../../src/methods/ptuning/format.ts';
import { GLM_FIXTURES, maxAbsDiff, reference, scratchDir, take, TINY_CHATGLM3 } from '../model/fixtures.ts';
import { lossAndGradients, lossBatch, methodReference, readJson } from './fixtures.ts';

await initCompute();
const model = loadModel(TINY_CHATGLM3);
const FIXTURE_PREFIX = join(GLM_FIXTURES, 'ptuning');
const { config } = model;
if (config.architecture !== 'chatglm2') throw new Error('the fixture is a ChatGLM3 model');
const h = config.hiddenSize;
const kv = config.numLayers * 2 * config.multiQueryGroupNum * config.kvChannels; // keys and values of every layer: 128

test('a prefix loaded from the THUDM fixture gives the reference P-tuning logits and loss', () => {
  const prefix = loadPrefix(model, FIXTURE_PREFIX);
  assert.deepEqual(prefix.shape, [4, kv]);
  for (const f of reference.ptuning.forward) {
    const diff = maxAbsDiff(take(model.forward(f.input_ids, { prefix }).logits), f.logits);
    assert.ok(diff < 1e-4, `${f.name}: max |Δlogit| ${diff}`);
  }
  const loss = take<number>(model.loss(lossBatch.input_ids, lossBatch.labels, { prefix }));
  assert.ok(Math.abs(loss - reference.ptuning.loss) < 1e-5, `loss ${loss} vs ${reference.ptuning.loss}`);
  prefix.dispose();
});

test("only the prefix encoder trains, and its gradient is the reference's", () => {
  const method = createMethod(model, { type: 'ptuning_v2', pre_seq_len: 4 }, { seed: 1, initFrom: FIXTURE_PREFIX });
  assert.deepEqual([...method.trainable().keys()], ['transformer.prefix_encoder.embedding.weight']);
  const ref = methodReference.ptuning.train_step;
  const { loss, norms, grads, strays } = lossAndGradients(model, method);
  grads.forEach((g) => g.dispose());
  assert.deepEqual(strays, [], 'no base parameter gets a gradient');
  assert.ok(Math.abs(loss - ref.loss_before) < 1e-5, `loss ${loss} vs ${ref.loss_before}`);
  for (const [name, expected] of Object.entries(ref.grad_l2_norm_per_tensor)) {
    const norm = norms.get(name)!;
    assert.ok(Math.abs(norm - expected) <= 1e-5 * expected, `${name}: |grad| ${norm} vs ${expected}`);
  }
  assert.deepEqual(method.memory(), { frozenBytes: 4 * [...model.parameters.values()].reduce((n, v) => n + v.size, 0), trainableBytes: 4 * 4 * kv });
  method.dispose();
});

test("export writes THUDM's layout: the fixture's prefix_encoder.safetensors byte for byte and its config.json", async (t) => {
  const dir = scratchDir(t, 'ptuning-export');
  const method = createMethod(model, { type: 'ptuning_v2', pre_seq_len: 4 }, { seed: 1, initFrom: FIXTURE_PREFIX });
  await method.export(dir);
  method.dispose();
  assert.deepEqual(readFileSync(join(dir, 'prefix_encoder.safetensors')), readFileSync(join(FIXTURE_PREFIX, 'prefix_encoder.safetensors')));
  assert.deepEqual(readJson(join(dir, 'config.json')), readJson(join(FIXTURE_PREFIX, 'config.json')));
});

test("with prefix_projection: ChatGLM2's MLP shapes, torch's initialisation, identical logits after a round trip", async (t) => {
  const method = createMethod(model, { type: 'ptuning_v2', pre_seq_len: 3, prefix_projection: true }, { seed: 5 });
  const shapes = Object.fromEntries([...method.trainable()].map(([name, v]) => [name, v.shape]));
  assert.deepEqual(shapes, {
    'transformer.prefix_encoder.embedding.weight': [3, kv],
    'transformer.prefix_encoder.trans.0.weight': [h, kv],
    'transformer.prefix_encoder.trans.0.bias': [h],
    'transformer.prefix_encoder.trans.2.weight': [kv, h],
    'transformer.prefix_encoder.trans.2.bias': [kv],
  });
  const values = (name: string): Float32Array => method.trainable().get(`transformer.prefix_encoder.${name}`)!.dataSync() as Float32Array;
  const maxAbs = (v: Float32Array): number => v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  const embedding = values('embedding.weight');
  const variance = embedding.reduce((s, x) => s + x * x, 0) / embedding.length;
  assert.ok(Math.abs(variance - 1) < 0.15, `embedding ~ N(0, 1): variance ${variance}`);
  for (const [name, fanIn] of [['trans.0.weight', kv], ['trans.0.bias', kv], ['trans.2.weight', h], ['trans.2.bias', h]] as const) {
    const m = maxAbs(values(name));
    assert.ok(m <= 1 / Math.sqrt(fanIn) && m > 0.8 / Math.sqrt(fanIn), `${name}: max ${m}, bound ${1 / Math.sqrt(fanIn)}`);
  }
  assert.equal(method.decays('transformer.prefix_encoder.trans.0.weight'), true);
  assert.equal(method.decays('transformer.prefix_encoder.trans.0.bias'), false);

  const ids = reference.forward[2].input_ids;
  const logits = (options: object): number[][][] => take(model.forward(ids, options).logits);
  const before = tf.tidy(() => logits(method.forwardOptions(false)));
  const dir = scratchDir(t, 'ptuning-projection');
  await method.export(dir);
  method.dispose();
  const config = readJson(join(dir, 'config.json')) as { pre_seq_len: number; prefix_projection: boolean };
  assert.deepEqual([config.pre_seq_len, config.prefix_projection], [3, true]);
  assert.deepEqual(fileWeights(join(dir, 'prefix_encoder.safetensors')).names().sort(), Object.keys(shapes).sort());
  const prefix = loadPrefix(model, dir);
  assert.deepEqual(prefix.shape, [3, kv]);
  assert.equal(maxAbsDiff(logits({ prefix }), before), 0);
  prefix.dispose();
  const continued = createMethod(model, { type: 'ptuning_v2', pre_seq_len: 3, prefix_projection: true }, { seed: 9, initFrom: dir });
  assert.equal(maxAbsDiff(tf.tidy(() => logits(continued.forwardOptions(false))), before), 0, 'training continues from the saved encoder');
  continued.dispose();
});

test('prefix dropout applies in training only, with the same mask for the same seed', () => {
  const method = createMethod(model, { type: 'ptuning_v2', pre_seq_len: 4, prefix_dropout: 0.3 }, { seed: 1, initFrom: FIXTURE_PREFIX });
  const loss = (training: boolean, seed?: number): number => tf.tidy(() => take(model.loss(lossBatch.input_ids, lossBatch.labels, method.forwardOptions(training, seed))));
  assert.ok(Math.abs(loss(false) - reference.ptuning.loss) < 1e-5, 'eval: no dropout');
  const [a, b, c] = [loss(true, 21), loss(true, 21), loss(true, 22)];
  assert.equal(a, b);
  assert.notEqual(a, c);
  assert.ok(Math.abs(a - reference.ptuning.loss) > 1e-4);
  method.dispose();
});

test("a prefix saved for another model's shape, or settings other than the saved ones, are refused", () => {
  const deeperConfig = parseModelConfig({ ...config.raw, num_layers: 3 });
  const deeper = GlmModel.fromWeights(deeperConfig, memoryWeights('random', randomWeights(deeperConfig, 1)));
  assert.throws(() => loadPrefix(deeper, FIXTURE_PREFIX), /"transformer\.prefix_encoder\.embedding\.weight" has shape \[4,128\], expected \[4,192\]/);
  deeper.dispose();
  assert.throws(() => createMethod(model, { type: 'ptuning_v2', pre_seq_len: 8 }, { seed: 1, initFrom: FIXTURE_PREFIX }), /pre_seq_len 4, no projection\) does not match the config \(pre_seq_len 8/);
});

test('forward options made inside a tidy leave no tensors behind', () => {
  const method = createMethod(model, { type: 'ptuning_v2', pre_seq_len: 2, prefix_projection: true }, { seed: 1 });
  const before = tf.memory().numTensors;
  lossAndGradients(model, method, true, 1).grads.forEach((g) => g.dispose());
  tf.tidy(() => {
    model.forward(reference.forward[0].input_ids, method.forwardOptions(false));
  });
  assert.equal(tf.memory().numTensors, before);
  method.dispose();
});
