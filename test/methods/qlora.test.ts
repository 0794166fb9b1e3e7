// QLoRA against the fixture's qlora section: the NF4 base (codes and absmax of layer 0's query_key_value),
// logits and loss/gradient norm with the fixture adapter on top, resident bytes, an int8 base, export.
import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { initCompute } from '../../src/compute/backend.ts';
import { NF4_CODEBOOK } from '../../src/compute/quant/nf4.ts';
import { loadModel } from '../../src/model/load.ts';
import type { CausalLanguageModel } from '../../src/model/language-model.ts';
import { createMethod } from '../../src/methods/create.ts';
import type { MethodConfigInput } from '../../src/methods/config.ts';
import type { LoraModel } from '../../src/methods/lora/model.ts';
import { GLM_FIXTURES, maxAbsDiff, reference, scratchDir, take, TINY_CHATGLM3 } from '../model/fixtures.ts';
import { globalNorm, lossAndGradients, methodReference } from './fixtures.ts';

await initCompute();
const FIXTURE_ADAPTER = join(GLM_FIXTURES, 'lora');
const QLORA: MethodConfigInput = { type: 'qlora', r: 4, alpha: 8, dropout: 0, target_modules: ['query_key_value', 'dense', 'dense_h_to_4h', 'dense_4h_to_h'] };
const ref = methodReference.qlora;

/** The weight as the model would write it (dequantized for a quantized site). */
function weightValues(model: CausalLanguageModel, name: string): Float32Array {
  return model.weightsToWrite().find((t) => t.name === name)!.data();
}

/** Sizes of the model's linear weights, by THUDM name. */
function linearSizes(model: CausalLanguageModel): Map<string, number> {
  return new Map(model.linearSites().map((site) => [`${site}.weight`, model.parameters.get(`${site}.weight`)!.size]));
}

test("the NF4 base is the fixture's: layer 0 query_key_value dequantizes to codebook[code]·absmax", () => {
  const model = loadModel(TINY_CHATGLM3);
  const method = createMethod(model, QLORA, { seed: 1, initFrom: FIXTURE_ADAPTER });
  assert.deepEqual(model.linearSites().map((s) => `${s}.weight`).sort(), [...ref.quantized_weights].sort());
  for (const name of ref.quantized_weights) assert.equal(model.parameters.has(name), false, `${name} is no longer a float variable`);
  const values = weightValues(model, ref.example_codes.tensor);
  assert.equal(values.length / ref.blocksize, ref.example_codes.absmax.length);
  ref.example_codes.first_128_codes.forEach((code, e) => {
    const expected = Math.fround(NF4_CODEBOOK[code] * Math.fround(ref.example_codes.absmax[Math.floor(e / ref.blocksize)]));
    assert.equal(values[e], expected, `element ${e}`);
  });
  // every block's largest |value| is its absmax, exactly (codes 0 and 15 are ∓1)
  ref.example_codes.absmax.forEach((absmax, block) => {
    const max = values.subarray(block * ref.blocksize, (block + 1) * ref.blocksize).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.equal(max, Math.fround(absmax), `block ${block}`);
  });
  method.dispose();
  model.dispose();
});

test('the NF4 base with the fixture adapter gives the reference QLoRA logits, loss and gradient norm', () => {
  const model = loadModel(TINY_CHATGLM3);
  const method = createMethod(model, QLORA, { seed: 1, initFrom: FIXTURE_ADAPTER });
  for (const f of ref.forward) {
    const diff = maxAbsDiff(take(model.forward(f.input_ids, method.forwardOptions(false)).logits), f.logits);
    assert.ok(diff < 1e-4, `${f.name}: max |Δlogit| ${diff}`);
  }
  const { loss, norms, grads, strays } = lossAndGradients(model, method);
  grads.forEach((g) => g.dispose());
  assert.deepEqual(strays, [], 'only lora_A/lora_B get gradients');
  assert.equal(norms.size, method.trainable().size);
  assert.ok(Math.abs(loss - ref.train_step.loss_before) < 1e-5, `loss ${loss} vs ${ref.train_step.loss_before}`);
  const norm = globalNorm(norms.values());
  assert.ok(Math.abs(norm - ref.train_step.grad_global_l2_norm) <= 1e-5 * ref.train_step.grad_global_l2_norm, `|grad| ${norm} vs ${ref.train_step.grad_global_l2_norm}`);
  method.dispose();
  model.dispose();
});

test('the frozen base is resident at 4.5 bits per quantized weight (NF4), less with double quantisation, ≈8 with int8', () => {
  const floatModel = loadModel(TINY_CHATGLM3);
  const sizes = linearSizes(floatModel);
  const quantizedCount = [...sizes.values()].reduce((a, b) => a + b, 0);
  const floatBytes = (m: CausalLanguageModel): number => [...m.parameters.values()].reduce((n, v) => n + 4 * v.size, 0);
  const unquantizedBytes = floatBytes(floatModel) - 4 * quantizedCount;
  floatModel.dispose();

  const packedBitsPerWeight = (config: MethodConfigInput): number => {
    const model = loadModel(TINY_CHATGLM3);
    const method = createMethod(model, config, { seed: 1 });
    const { frozenBytes, trainableBytes } = method.memory();
    assert.equal(trainableBytes, [...method.trainable().values()].reduce((n, v) => n + 4 * v.size, 0));
    method.dispose();
    model.dispose();
    return (8 * (frozenBytes - unquantizedBytes)) / quantizedCount;
  };
  // every linear weight here is a whole number of 64-blocks and of 8-code words: exactly 4 + 32/64 bits
  assert.equal(packedBitsPerWeight(QLORA), 4.5);
  const doubleQuant = packedBitsPerWeight({ ...QLORA, double_quant: true });
  assert.ok(doubleQuant < 4.3 && doubleQuant > 4.1, `double quant: ${doubleQuant} bits/weight`);
  const int8 = packedBitsPerWeight({ ...QLORA, quantization_bits: 8 });
  assert.ok(int8 > 8 && int8 < 8.6, `int8: ${int8} bits/weight`);
});

test('an int8 base stays within half a quantisation step of the float weights, and its logits near the float LoRA logits', () => {
  const model = loadModel(TINY_CHATGLM3);
  const name = 'transformer.encoder.layers.1.mlp.dense_h_to_4h.weight';
  const float = model.parameters.get(name)!;
  const [rows, cols] = float.shape as [number, number];
  const floatValues = float.dataSync() as Float32Array;
  const method = createMethod(model, { ...QLORA, quantization_bits: 8 }, { seed: 1, initFrom: FIXTURE_ADAPTER });
  const values = weightValues(model, name);
  for (let r = 0; r < rows; r++) {
    const row = floatValues.subarray(r * cols, (r + 1) * cols);
    const step = row.reduce((m, v) => Math.max(m, Math.abs(v)), 0) / 127;
    for (let c = 0; c < cols; c++) assert.ok(Math.abs(values[r * cols + c] - row[c]) <= step / 2 + 1e-7, `[${r}, ${c}]`);
  }
  // 8 bits per weight move the logits far less than NF4's 4 (the reference's NF4 logits are 0.8 off)
  const f = reference.lora.forward[2];
  const diff = maxAbsDiff(take(model.forward(f.input_ids, method.forwardOptions(false)).logits), f.logits);
  const nf4Diff = maxAbsDiff(ref.forward[2].logits, f.logits);
  assert.ok(diff < nf4Diff / 5, `int8 base: max |Δlogit| vs float ${diff}, NF4's ${nf4Diff}`);
  method.dispose();
  model.dispose();
});

test('a quantized base takes no merge; the merged export is the dequantized base with the adapter, loading with the QLoRA logits', async (t) => {
  const model = loadModel(TINY_CHATGLM3);
  const method = createMethod(model, QLORA, { seed: 1, initFrom: FIXTURE_ADAPTER }) as LoraModel;
  assert.throws(() => method.merge(), /is quantized and cannot take the adapter/);
  const dir = scratchDir(t, 'qlora-merged');
  await method.export(dir, { merged: true, baseDir: TINY_CHATGLM3 });
  method.dispose();
  model.dispose();
  const merged = loadModel(dir);
  for (const f of ref.forward) {
    const diff = maxAbsDiff(take(merged.forward(f.input_ids).logits), f.logits);
    assert.ok(diff < 1e-4, `${f.name}: max |Δlogit| ${diff}`);
  }
  merged.dispose();
});

test('a QLoRA config that does not fit fails before the model is quantized', () => {
  const model = loadModel(TINY_CHATGLM3);
  assert.throws(() => createMethod(model, { ...QLORA, r: 8 }, { seed: 1, initFrom: FIXTURE_ADAPTER }), /r 4 vs 8/);
  assert.throws(() => createMethod(model, { ...QLORA, quantization_bits: 8, double_quant: true }, { seed: 1 }), /double_quant applies to 4-bit/);
  assert.equal(model.linearSites().every((s) => model.parameters.has(`${s}.weight`)), true, 'no weight was replaced');
  model.dispose();
});
