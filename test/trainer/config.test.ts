// The training settings schema: defaults, float32-only compute, unknown and invalid settings.
import test from 'node:test';
import assert from 'node:assert/strict';
import { ZodError } from 'zod';
import { FLOAT32_ONLY_MESSAGE, parseTrainingConfig, trainingConfigSchema } from '../../src/trainer/config.ts';

test('defaults follow HF TrainingArguments where it has the setting', () => {
  const config = parseTrainingConfig({ method: { type: 'lora' } });
  assert.equal(config.learning_rate, 5e-5);
  assert.equal(config.max_grad_norm, 1);
  assert.equal(config.lr_scheduler_type, 'linear');
  assert.equal(config.gradient_accumulation_steps, 1);
  assert.equal(config.compute_dtype, 'float32');
  assert.equal(config.method.type, 'lora');
});

test('fp16/bf16 compute is refused with a message that says float32 only', () => {
  for (const dtype of ['float16', 'bfloat16', 'fp16']) {
    const parsed = trainingConfigSchema.safeParse({ method: { type: 'full' }, compute_dtype: dtype });
    assert.equal(parsed.success, false);
    const issue = parsed.error!.issues[0];
    assert.deepEqual(issue.path, ['compute_dtype']);
    assert.equal(issue.message, FLOAT32_ONLY_MESSAGE);
  }
});

test('unknown settings and out-of-range values are errors naming the field', () => {
  assert.throws(() => parseTrainingConfig({ method: { type: 'full' }, lerning_rate: 1 }), (err: unknown) => err instanceof ZodError && err.issues.some((i) => i.code === 'unrecognized_keys'));
  assert.throws(() => parseTrainingConfig({ method: { type: 'full' }, validation_split: 1 }), (err: unknown) => err instanceof ZodError && err.issues[0].path[0] === 'validation_split');
  assert.throws(() => parseTrainingConfig({ method: { type: 'lora', r: 0 } }), (err: unknown) => err instanceof ZodError && err.issues[0].path.join('.') === 'method.r');
  assert.throws(() => parseTrainingConfig({ method: { type: 'full' }, distillation: { teacher: 'x', alpha: 2 } }), (err: unknown) => err instanceof ZodError && err.issues[0].path.join('.') === 'distillation.alpha');
});
