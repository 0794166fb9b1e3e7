// Method configs: defaults filled in, and every invalid setting refused with a message naming it.
import test from 'node:test';
import assert from 'node:assert/strict';
import { initCompute } from '../../src/compute/backend.ts';
import { loadModel } from '../../src/model/load.ts';
import { methodConfigSchema } from '../../src/methods/config.ts';
import { createMethod } from '../../src/methods/create.ts';
import { MethodConfigError } from '../../src/methods/errors.ts';
import { TINY_CHATGLM3, GLM_FIXTURES } from '../model/fixtures.ts';
import { join } from 'node:path';

await initCompute();
const model = loadModel(TINY_CHATGLM3);

test('defaults: LoRA and P-tuning as THUDM ships them, QLoRA as NF4 without double quantisation', () => {
  assert.deepEqual(methodConfigSchema.parse({ type: 'lora' }), { type: 'lora', r: 8, alpha: 32, dropout: 0.1, target_modules: ['query_key_value'] });
  assert.deepEqual(methodConfigSchema.parse({ type: 'qlora' }), {
    type: 'qlora', r: 8, alpha: 32, dropout: 0.1, target_modules: ['query_key_value'], quantization_bits: 4, double_quant: false,
  });
  assert.deepEqual(methodConfigSchema.parse({ type: 'ptuning_v2' }), { type: 'ptuning_v2', pre_seq_len: 128, prefix_projection: false, prefix_dropout: 0.1 });
  assert.deepEqual(methodConfigSchema.parse({ type: 'freeze' }), { type: 'freeze', layers: 2, also_output_layer: false });
  assert.deepEqual(methodConfigSchema.parse({ type: 'full' }), { type: 'full' });
});

test('invalid settings are refused with the setting named', () => {
  const refused: [unknown, RegExp][] = [
    [{ type: 'lora', target_modules: ['query_key_value', 'q_proj'] }, /target_modules\.1: unknown target module "q_proj"/],
    [{ type: 'lora', target_modules: ['dense', 'dense'] }, /target_modules: target_modules must not repeat a module/],
    [{ type: 'lora', target_modules: [] }, /target_modules/],
    [{ type: 'lora', r: 0 }, /^invalid method config: r:/],
    [{ type: 'lora', r: 2.5 }, /r:/],
    [{ type: 'lora', alpha: -1 }, /alpha:/],
    [{ type: 'lora', dropout: 1 }, /dropout:/],
    [{ type: 'lora', lora_alpha: 16 }, /lora_alpha/],
    [{ type: 'qlora', quantization_bits: 2 }, /quantization_bits/],
    [{ type: 'ptuning_v2', pre_seq_len: 0 }, /pre_seq_len/],
    [{ type: 'freeze', layers: 0 }, /layers/],
    [{ type: 'prompt_tuning' }, /type/],
  ];
  for (const [config, message] of refused) {
    assert.throws(() => createMethod(model, config as never, { seed: 1 }), (err: unknown) => err instanceof MethodConfigError && message.test(err.message), JSON.stringify(config));
  }
});

test('full and freeze do not continue from an artifact folder: the earlier result is loaded as the base', () => {
  assert.throws(() => createMethod(model, { type: 'full' }, { seed: 1, initFrom: join(GLM_FIXTURES, 'lora') }), /load that folder as the base model/);
  assert.equal([...model.parameters.values()].some((v) => v.trainable), false);
});
