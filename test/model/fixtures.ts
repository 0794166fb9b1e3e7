// Shared by the model tests: the GLM fixture (test/fixtures/glm, numbers from an independent PyTorch
// reference) and small helpers to compare against it.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { LinearAdapter } from '../../src/model/extensions.ts';
import { fileWeights } from '../../src/model/weights/checkpoint.ts';

export const GLM_FIXTURES = join('test', 'fixtures', 'glm');
export const TINY_CHATGLM3 = join(GLM_FIXTURES, 'tiny-chatglm3');

type Ids = number[][];
type Logits = number[][][];
interface Forward {
  name: string;
  input_ids: Ids;
  logits: Logits;
}
interface Generation {
  prompt: number[];
  max_new_tokens: number;
  tokens: number[];
  step_logits: number[][];
}
export interface GlmReference {
  forward: Forward[];
  forward_bf16_weights: { input_ids: Ids; logits: Logits; max_abs_diff_vs_f32_weights: number };
  forward_padded_batch: { input_ids: Ids; attention_mask: Ids; position_ids: Ids; logits: Logits };
  loss: { input_ids: Ids; labels: Ids; loss: number; num_predicted_tokens: number; per_position_loss: number[][] };
  generation: Generation & { sequence: number[] };
  full_finetune: { train_step: { grad_global_l2_norm: number; grad_l2_norm_per_tensor: Record<string, number>; grads_subset: Record<string, number[]> } };
  lora: { forward: Forward[]; loss: number; train_step: { grads: Record<string, number[][]> } };
  ptuning: {
    forward: Forward[];
    loss: number;
    prefix_past_key_values: { layer: number; key: number[][][]; value: number[][][] }[];
    forward_padded_batch: { input_ids: Ids; attention_mask_without_prefix: Ids; position_ids: Ids; logits: Logits };
    generation: Generation;
    train_step: { grad_l2_norm_per_tensor: Record<string, number> };
  };
}

export const reference = JSON.parse(readFileSync(join(GLM_FIXTURES, 'reference.json'), 'utf8')) as GlmReference;

/** A fresh folder under test/artifacts (git-ignored), removed when the test ends. */
export function scratchDir(t: { after: (fn: () => void) => void }, prefix: string): string {
  mkdirSync(join('test', 'artifacts'), { recursive: true });
  const dir = mkdtempSync(join('test', 'artifacts', `${prefix}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Largest |a − b| over nested arrays of equal shape (throws on a shape mismatch). */
export function maxAbsDiff(a: unknown, b: unknown): number {
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
    return a.reduce((m: number, x, i) => Math.max(m, maxAbsDiff(x, b[i])), 0);
  }
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b);
  throw new Error('shape mismatch');
}

/** The rows of [batch][seq][...] where mask is 1. */
export function maskedRows<T>(values: T[][], mask: number[][]): T[] {
  return values.flatMap((row, b) => row.filter((_, t) => mask[b][t] === 1));
}

/** Reads a tensor's values as nested arrays and disposes it. */
export function take<T>(t: tf.Tensor): T {
  const values = t.arraySync() as T;
  t.dispose();
  return values;
}

/** LoRA as PEFT computes it: y += (lora_alpha / r) · (x·Aᵀ)·Bᵀ. */
class LoraDelta implements LinearAdapter {
  constructor(private readonly a: tf.Tensor2D, private readonly b: tf.Tensor2D, private readonly scaling: number) {}

  delta(x: tf.Tensor2D): tf.Tensor2D {
    return tf.mul(tf.matMul(tf.matMul(x, this.a, false, true), this.b, false, true), this.scaling);
  }
}

/**
 * A PEFT adapter folder (adapter_config.json + adapter_model.safetensors) as model adapters keyed by
 * site name (PEFT's `base_model.model.` prefix and `.lora_A.weight` suffix stripped), with its tensors
 * as trainable variables keyed by PEFT name.
 */
export function loadPeftLora(dir: string): { adapters: Map<string, LinearAdapter>; variables: Map<string, tf.Variable> } {
  const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as { r: number; lora_alpha: number };
  const file = fileWeights(join(dir, 'adapter_model.safetensors'));
  const variables = new Map(file.names().map((name) => [name, tf.variable(tf.tensor(file.read(name), file.shape(name)), true)]));
  const adapters = new Map<string, LinearAdapter>();
  for (const name of file.names()) {
    const match = /^base_model\.model\.(.+)\.lora_A\.weight$/.exec(name);
    if (!match) continue;
    const a = variables.get(name) as tf.Variable<tf.Rank.R2>;
    const b = variables.get(name.replace('lora_A', 'lora_B')) as tf.Variable<tf.Rank.R2>;
    adapters.set(match[1], new LoraDelta(a, b, config.lora_alpha / config.r));
  }
  return { adapters, variables };
}

/** The P-tuning fixture's prefix: prefix_encoder(arange(P)) is the embedding itself without projection. */
export function loadPtuningPrefix(): tf.Tensor2D {
  const file = fileWeights(join(GLM_FIXTURES, 'ptuning', 'prefix_encoder.safetensors'));
  const name = 'transformer.prefix_encoder.embedding.weight';
  return tf.tensor2d(file.read(name), file.shape(name) as [number, number]);
}
