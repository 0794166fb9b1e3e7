// ChatGLM-6B (v1) config.json and checkpoint names: THUDM's v1 keys, special ids read from the config,
// clear errors for what the runtime does not implement, and which tensors a v1 checkpoint may carry.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkWeights, parameterCount, parseModelConfig, readModelConfig } from '../../src/model/config.ts';
import { fileWeights, type WeightSource } from '../../src/model/weights/checkpoint.ts';
import { GLM1_FIXTURES, TINY_CHATGLM6B } from './chatglm6b-fixtures.ts';

const fixtureJson = JSON.parse(readFileSync(join(TINY_CHATGLM6B, 'config.json'), 'utf8')) as Record<string, unknown>;
const weights = fileWeights(join(TINY_CHATGLM6B, 'model.safetensors'));

test('the fixture config parses into the ChatGLM-6B architecture with its own special ids', () => {
  const config = readModelConfig(TINY_CHATGLM6B);
  assert.ok(config.architecture === 'chatglm6b');
  assert.equal(config.hiddenSize, 64);
  assert.equal(config.headDim, 16);
  assert.equal(config.innerHiddenSize, 256);
  assert.equal(config.paddedVocabSize, 160);
  assert.equal(config.seqLength, 256);
  assert.deepEqual([config.maskTokenId, config.gmaskTokenId, config.bosTokenId, config.padTokenId], [150, 151, 154, 3]);
  assert.deepEqual(config.eosTokenIds, [155]);
  assert.equal(config.preSeqLen, null);
  assert.equal(config.raw.transformers_version, '4.27.1'); // keys the runtime ignores are kept for saving
  const ptuning = readModelConfig(join(GLM1_FIXTURES, 'ptuning'));
  assert.equal(ptuning.preSeqLen, 4);
  assert.equal(ptuning.prefixProjection, false);
});

test('THUDM’s real ids come from the config too', () => {
  const config = parseModelConfig({ ...fixtureJson, mask_token_id: 130000, gmask_token_id: 130001, bos_token_id: 130004, eos_token_id: 130005, vocab_size: 130528 });
  assert.ok(config.architecture === 'chatglm6b');
  assert.deepEqual([config.maskTokenId, config.gmaskTokenId, config.bosTokenId, config.eosTokenIds[0]], [130000, 130001, 130004, 130005]);
});

test('missing special ids and shape keys, and unsupported settings, are named', () => {
  const { bos_token_id: _, ...noBos } = fixtureJson;
  assert.throws(() => parseModelConfig(noBos, 'v1/config.json'), /v1\/config.json: invalid ChatGLM-6B config: bos_token_id/);
  const { inner_hidden_size: __, ...noInner } = fixtureJson;
  assert.throws(() => parseModelConfig(noInner), /inner_hidden_size/);
  assert.throws(() => parseModelConfig({ ...fixtureJson, position_encoding_2d: false }), /position_encoding_2d=false/);
  assert.throws(() => parseModelConfig({ ...fixtureJson, quantization_bit: 4 }), /quantization_bit=4/);
  assert.throws(() => parseModelConfig({ ...fixtureJson, num_attention_heads: 5 }), /not a multiple of num_attention_heads/);
  assert.throws(() => parseModelConfig({ ...fixtureJson, num_attention_heads: 32 }), /head dimension not a multiple of 4/);
});

test('parameter count: every stored tensor except the tied lm_head and the rotary buffers', () => {
  const config = readModelConfig(TINY_CHATGLM6B);
  const stored = weights.names().filter((n) => n !== 'lm_head.weight' && !n.endsWith('inv_freq'));
  assert.equal(parameterCount(config), stored.reduce((s, n) => s + weights.shape(n).reduce((a, b) => a * b, 1), 0));
});

/** The fixture's weights with some names left out or added. */
function edited(options: { without?: string[]; extra?: [string, number[]] }): WeightSource {
  const names = weights.names().filter((n) => !options.without?.includes(n));
  const extra = options.extra;
  return {
    location: 'edited',
    names: () => (extra ? [...names, extra[0]] : names),
    shape: (n) => (extra && n === extra[0] ? extra[1] : weights.shape(n)),
    read: (n) => weights.read(n),
  };
}

test('a v1 checkpoint may carry lm_head.weight and the inv_freq buffers; anything else must be a parameter', () => {
  const config = readModelConfig(TINY_CHATGLM6B);
  assert.ok(config.architecture === 'chatglm6b');
  checkWeights(config, weights);
  checkWeights(config, edited({ without: ['lm_head.weight', 'transformer.layers.0.attention.rotary_emb.inv_freq'] }));
  assert.throws(() => checkWeights(config, edited({ without: ['transformer.layers.1.input_layernorm.bias'] })), /missing tensor "transformer.layers.1.input_layernorm.bias"/);
  assert.throws(() => checkWeights(config, edited({ extra: ['transformer.output_layer.weight', [160, 64]] })), /unexpected tensor "transformer.output_layer.weight"/);
  assert.throws(() => checkWeights({ ...config, innerHiddenSize: 128 }, weights), /"transformer.layers.0.mlp.dense_h_to_4h.weight" has shape \[256,64\], expected \[128,64\]/);
});
