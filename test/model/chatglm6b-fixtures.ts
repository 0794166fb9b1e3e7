// Shared by the ChatGLM-6B (v1) model tests: the glm1 fixture (test/fixtures/glm1, numbers from an
// independent PyTorch reference of THUDM's v1 code) and its typed reference.json.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fileWeights } from '../../src/model/weights/checkpoint.ts';

export const GLM1_FIXTURES = join('test', 'fixtures', 'glm1');
export const TINY_CHATGLM6B = join(GLM1_FIXTURES, 'tiny-chatglm6b');

type Ids = number[][];
type Logits = number[][][];
/** [batch][2][seq]: position ids and block position ids. */
type Positions = number[][][];
/** [batch][1][seq][keys], true = masked. */
type BoolMask = boolean[][][][];

interface Forward {
  name: string;
  input_ids: Ids;
  logits: Logits;
}
interface DefaultForward extends Forward {
  position_ids: Positions;
  attention_mask: BoolMask;
  context_length: number;
  mask_position: number;
}
interface PaddedBatch {
  input_ids: Ids;
  position_ids: Positions;
  real_token_from: number[];
  logits: Logits;
}
interface Generation {
  prompt: number[];
  max_new_tokens: number;
  tokens: number[];
  sequence: number[];
  prompt_position_ids: number[][];
  context_length: number;
  mask_position: number;
  step_position_ids: number[][];
  step_logits: number[][];
}
interface Loss {
  input_ids: Ids;
  labels: Ids;
  position_ids: Positions;
  attention_mask: BoolMask;
  loss: number;
  num_predicted_tokens: number;
  per_position_loss: number[][];
}
interface TrainStep {
  loss_before: number;
  grad_global_l2_norm: number;
  grad_l2_norm_per_tensor: Record<string, number>;
}

export interface Glm1Reference {
  architecture: { head_dim: number; alpha: number; inv_freq: number[] };
  forward: DefaultForward[];
  forward_f16_weights: { input_ids: Ids; logits: Logits; max_abs_diff_vs_f32_weights: number };
  forward_padded_batch: PaddedBatch & { attention_mask: BoolMask };
  loss: Loss;
  generation: Generation;
  lora: { forward: Forward[]; loss: number; train_step: TrainStep & { grads: Record<string, number[][]> } };
  ptuning: {
    pre_seq_len: number;
    forward: Forward[];
    prefix_past_key_values: { layer: number; key: number[][][]; value: number[][][] }[];
    loss: number;
    forward_padded_batch: PaddedBatch & { attention_mask_without_prefix: BoolMask };
    generation: Generation;
    train_step: TrainStep;
  };
  full_finetune: {
    train_step: TrainStep & {
      grads_subset: Record<string, number[]>;
      embedding_grad_rows: { rows: number[]; grad: number[][] };
    };
  };
}

export const glm1 = JSON.parse(readFileSync(join(GLM1_FIXTURES, 'reference.json'), 'utf8')) as Glm1Reference;

/** attentionMask [B, T] (1 = token, 0 = left padding) from where each row's real tokens start. */
export function tokenMaskFrom(realTokenFrom: readonly number[], seq: number): number[][] {
  return realTokenFrom.map((start) => Array.from({ length: seq }, (_, t) => (t < start ? 0 : 1)));
}

/** The P-tuning fixture's prefix: prefix_encoder(arange(P)) is the embedding itself without projection. */
export function loadGlm1Prefix(): tf.Tensor2D {
  const file = fileWeights(join(GLM1_FIXTURES, 'ptuning', 'prefix_encoder.safetensors'));
  const name = 'transformer.prefix_encoder.embedding.weight';
  return tf.tensor2d(file.read(name), file.shape(name) as [number, number]);
}
