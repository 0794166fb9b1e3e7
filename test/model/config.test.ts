// config.json parsing: THUDM's keys, defaults, and clear errors for what the runtime does not support.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parameterCount, parseModelConfig, readModelConfig } from '../../src/model/config.ts';
import { SafetensorsFile } from '../../src/model/weights/safetensors.ts';
import { TINY_CHATGLM3 } from './fixtures.ts';

const fixtureJson = JSON.parse(readFileSync(join(TINY_CHATGLM3, 'config.json'), 'utf8')) as Record<string, unknown>;

test('the fixture config parses into the ChatGLM2 architecture', () => {
  const config = readModelConfig(TINY_CHATGLM3);
  assert.equal(config.architecture, 'chatglm2');
  assert.equal(config.hiddenSize, 64);
  assert.equal(config.multiQueryGroupNum, 2);
  assert.equal(config.paddedVocabSize, 128);
  assert.deepEqual(config.eosTokenIds, [2]);
  assert.equal(config.raw.bias_dropout_fusion, true); // keys the runtime ignores are kept for saving
});

test('parameter count from the config equals the elements in the weights file', () => {
  const file = SafetensorsFile.open(join(TINY_CHATGLM3, 'model.safetensors'));
  const stored = file.names().filter((n) => !n.includes('inv_freq')).reduce((s, n) => s + file.info(n).shape.reduce((a, b) => a * b, 1), 0);
  assert.equal(parameterCount(readModelConfig(TINY_CHATGLM3)), stored);
});

test('GLM-4 style keys: eos id lists and rope_ratio', () => {
  const config = parseModelConfig({ ...fixtureJson, eos_token_id: [151329, 151336, 151338], rope_ratio: 500, seq_length: 131072 });
  assert.deepEqual(config.eosTokenIds, [151329, 151336, 151338]);
  assert.ok(config.architecture === 'chatglm2');
  assert.equal(config.ropeRatio, 500);
});

test('unsupported settings and missing keys are named', () => {
  assert.throws(() => parseModelConfig({ ...fixtureJson, multi_query_attention: false }), /multi_query_attention=false/);
  assert.throws(() => parseModelConfig({ ...fixtureJson, quantization_bit: 4 }), /quantization_bit=4/);
  assert.throws(() => parseModelConfig({ ...fixtureJson, rmsnorm: false, add_bias_linear: true }), /rmsnorm=false.*add_bias_linear=true/);
  const { hidden_size: _, ...noHidden } = fixtureJson;
  assert.throws(() => parseModelConfig(noHidden), /hidden_size/);
  assert.throws(() => parseModelConfig({ ...fixtureJson, model_type: 'glm' }), /model_type/);
  assert.throws(() => parseModelConfig({ ...fixtureJson, vision_config: {} }), /multimodal/);
  assert.throws(() => parseModelConfig([1, 2]), /not a JSON object/);
});
