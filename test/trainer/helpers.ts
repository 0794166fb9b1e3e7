// Shared by the trainer tests: small model folders made in the test, datasets, fixture access.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseModelConfig } from '../../src/model/config.ts';
import { GLM_TINY_CONFIG, GLM_TINY_TOKENIZER_CONFIG, randomWeights } from '../../src/model/tiny.ts';
import { writeWeights } from '../../src/model/weights/checkpoint.ts';
import type { ChatMessage } from '../../src/model/chat.ts';

export const GLM_FIXTURES = join('test', 'fixtures', 'glm');
export const TINY_CHATGLM3 = join(GLM_FIXTURES, 'tiny-chatglm3');

/** The parts of test/fixtures/glm/reference.json these tests read (see its README). */
export interface TrainStepReference {
  loss_before: number;
  grad_global_l2_norm: number;
  grad_l2_norm_per_tensor?: Record<string, number>;
  weights_after?: Record<string, number[] | number[][]>;
  weights_after_subset?: Record<string, number[]>;
  loss_after: number;
}
export interface Reference {
  loss: { input_ids: number[][]; labels: number[][]; loss: number; num_predicted_tokens: number };
  full_finetune: { train_step: TrainStepReference };
  lora: { train_step: TrainStepReference };
  ptuning: { train_step: TrainStepReference };
  qlora: { train_step: TrainStepReference };
}
export const reference = JSON.parse(readFileSync(join(GLM_FIXTURES, 'reference.json'), 'utf8')) as Reference;

/** A fresh folder under test/artifacts (git-ignored), removed when the test ends. */
export function scratchDir(t: { after: (fn: () => void) => void }, prefix: string): string {
  mkdirSync(join('test', 'artifacts'), { recursive: true });
  const dir = mkdtempSync(join('test', 'artifacts', `${prefix}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A model folder with glm-tiny's byte tokenizer, by default a smaller architecture (2 layers, hidden
 * 64; `glmTinyShape`: glm-tiny's 4 layers, hidden 128), random weights from `seed`. `outputScale` multiplies the output layer's N(0, 0.02) init: with a
 * frozen output layer (LoRA, P-tuning) and RMS-normed hidden states, logits are bounded by
 * |w_row|·√h ≈ 0.02·h, too little for any adapter to fit a dataset; ×10 gives room.
 */
export function writeTestModel(dir: string, options: { seed?: number; outputScale?: number; glmTinyShape?: boolean } = {}): string {
  const small = { num_layers: 2, hidden_size: 64, ffn_hidden_size: 172, kv_channels: 16 };
  const raw = { ...GLM_TINY_CONFIG, ...(options.glmTinyShape ? {} : small), seq_length: 256 };
  const config = parseModelConfig(raw, 'test model');
  const scale = options.outputScale ?? 10;
  mkdirSync(dir, { recursive: true });
  writeWeights(dir, randomWeights(config, options.seed ?? 7).map((t) => (t.name === 'transformer.output_layer.weight' ? { ...t, data: () => t.data().map((x) => x * scale) } : t)));
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(raw, null, 2)}\n`);
  writeFileSync(join(dir, 'tokenizer_config.json'), `${JSON.stringify(GLM_TINY_TOKENIZER_CONFIG)}\n`);
  return dir;
}

export const QA_PAIRS: ReadonlyArray<readonly [string, string]> = [
  ['What is the capital of France?', 'Paris.'],
  ['How much is 2+2?', 'Four.'],
  ['What color is the sky?', 'Blue.'],
  ['Opposite of hot?', 'Cold.'],
];

export function conversation(question: string, answer: string): ChatMessage[] {
  return [{ role: 'user', content: question }, { role: 'assistant', content: answer }];
}

/** Writes conversations as an OpenAI-chat JSONL file. */
export function writeJsonl(path: string, conversations: readonly ChatMessage[][]): string {
  writeFileSync(path, conversations.map((messages) => JSON.stringify({ messages })).join('\n') + '\n');
  return path;
}
