// train() from folders and files: incremental training (continuing an adapter, or a merged result as
// the new base), and evaluation with generation metrics and the base model's for comparison.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { train } from '../../src/trainer/train.ts';
import type { EvalEvent } from '../../src/trainer/loop.ts';
import type { GenerationMetrics } from '../../src/trainer/eval/generation.ts';
import { QA_PAIRS, conversation, scratchDir, writeJsonl, writeTestModel } from './helpers.ts';

const LORA = { type: 'lora' as const, r: 8, alpha: 16, dropout: 0, target_modules: ['query_key_value' as const, 'dense' as const, 'dense_h_to_4h' as const, 'dense_4h_to_h' as const] };
// a linear decay ends the run converged (see acceptance.test.ts)
const FIT = { seed: 3, batch_size: 4, max_steps: 60, learning_rate: 1e-2, lr_scheduler_type: 'linear' as const };

test('incremental training continues from an exported adapter, or from a merged model as the base', async (t) => {
  const root = scratchDir(t, 'incremental');
  const modelDir = writeTestModel(join(root, 'base'));
  const trainFile = writeJsonl(join(root, 'train.jsonl'), QA_PAIRS.map(([q, a]) => conversation(q, a)));
  const first = await train({ modelDir, trainFile, outputDir: join(root, 'adapter'), config: { method: LORA, ...FIT } });
  assert.equal(first.status, 'completed');
  assert.equal(first.outputDir, join(root, 'adapter'));
  const fitted = first.losses.at(-1)!;
  assert.ok(fitted < 0.05, `first run ends at ${fitted}`);
  assert.ok(first.losses[0] > 1, `a fresh adapter starts high (${first.losses[0]})`);

  // one more step at a tiny rate (a fresh AdamW's first step moves every element by ≈ lr), exported merged
  const continued = await train({ modelDir, trainFile, initFrom: join(root, 'adapter'), outputDir: join(root, 'merged'), config: { method: LORA, ...FIT, max_steps: 1, learning_rate: 1e-6, export_merged: true } });
  assert.ok(Math.abs(continued.losses[0] - fitted) < 0.05, `continuing the adapter starts at ${continued.losses[0]}, where the first run ended (${fitted})`);
  assert.ok(existsSync(join(root, 'merged', 'config.json')), 'a merged export is a model folder');
  const onMerged = await train({ modelDir: join(root, 'merged'), trainFile, config: { method: { type: 'full' }, ...FIT, max_steps: 1 } });
  assert.ok(Math.abs(onMerged.losses[0] - fitted) < 0.05, `the merged model as base starts at ${onMerged.losses[0]}`);
});

test('evaluation reports validation loss, perplexity, token accuracy and generation metrics; the base model is scored once', async (t) => {
  const root = scratchDir(t, 'eval');
  const modelDir = writeTestModel(join(root, 'base'));
  // 10 copies of the pairs: 10 steps per epoch, so evaluations come at epoch ends and at eval_steps
  const trainFile = writeJsonl(join(root, 'train.jsonl'), Array.from({ length: 10 }, () => QA_PAIRS.map(([q, a]) => conversation(q, a))).flat());
  const validationFile = writeJsonl(join(root, 'validation.jsonl'), QA_PAIRS.slice(0, 2).map(([q, a]) => conversation(q, a)));
  const evals: EvalEvent[] = [];
  const base: GenerationMetrics[] = [];
  const result = await train({
    modelDir, trainFile, validationFile,
    config: { method: LORA, ...FIT, max_steps: 60, eval_steps: 20, eval_samples: 2, eval_max_new_tokens: 8, eval_base_model: true },
    callbacks: { onEval: (e) => void evals.push(e), onBaseEval: (m) => void base.push(m) },
  });
  assert.deepEqual(evals.map((e) => e.step), [10, 20, 30, 40, 50, 60]);
  assert.equal(base.length, 1);
  assert.equal(base[0].samples, 2);
  const last = evals[5];
  assert.ok(Math.abs(last.validation.perplexity - Math.exp(last.validation.loss)) < 1e-9);
  // the validation questions are training questions: the fitted adapter answers them exactly
  assert.equal(last.validation.tokenAccuracy, 1);
  // "Paris." and "Four." are two jieba words each: P = R = 1 for every ROUGE, F = 2/(2 + 1e-8)
  const f = 100 * (2 / (2 + 1e-8));
  assert.deepEqual(last.generation, { 'rouge-1': f, 'rouge-2': f, 'rouge-l': f, 'bleu-4': 100, samples: 2 });
  assert.ok(base[0]['bleu-4'] < 100, 'the untrained base does not know the answers');
  assert.equal(result.lastEval?.step, 60);
  assert.equal(result.data.validation.examples, 2);
});
