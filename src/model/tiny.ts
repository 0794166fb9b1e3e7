// The built-in `glm-tiny` base model: a ChatGLM3-architecture toy (~0.8 M parameters) with random
// weights from a fixed seed and a byte-level tokenizer, so the service runs end to end with no
// download. It knows nothing; fine-tuning it is how one tries the service on a laptop.
// Free of TF.js: weights are generated in JS and written as safetensors.
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { expectedTensorShapes, parseModelConfig, type ModelConfig } from './config.ts';
import { Rng, hashString } from './random.ts';
import { BYTE_TOKENIZER_CLASS } from './tokenizers/byte.ts';
import { writeWeights } from './weights/checkpoint.ts';
import type { TensorToWrite } from './weights/safetensors.ts';

export const GLM_TINY_ID = 'glm-tiny';
const GLM_TINY_SEED = 20241128;
const OUTPUT_LAYER_STD = 0.1;

/**
 * THUDM's config keys for glm-tiny. Vocabulary: 0 `<unk>`/pad, 1 `<s>`, 2 `</s>` (eos), byte b → b + 3,
 * then [MASK] 259, [gMASK] 260, [sMASK] 261, sop 262, eop 263, <|system|> 264, <|user|> 265,
 * <|assistant|> 266, <|observation|> 267: 268 ids, embedding padded to 272.
 */
export const GLM_TINY_CONFIG = {
  model_type: 'chatglm',
  architectures: ['ChatGLMModel'],
  num_layers: 4,
  padded_vocab_size: 272,
  hidden_size: 128,
  ffn_hidden_size: 344,
  kv_channels: 32,
  num_attention_heads: 4,
  seq_length: 512,
  hidden_dropout: 0.0,
  attention_dropout: 0.0,
  layernorm_epsilon: 1e-5,
  rmsnorm: true,
  apply_residual_connection_post_layernorm: false,
  post_layer_norm: true,
  add_bias_linear: false,
  add_qkv_bias: true,
  bias_dropout_fusion: true,
  multi_query_attention: true,
  multi_query_group_num: 2,
  apply_query_key_layer_scaling: true,
  attention_softmax_in_fp32: true,
  fp32_residual_connection: false,
  original_rope: true,
  rope_ratio: 1.0,
  pre_seq_len: null,
  prefix_projection: false,
  quantization_bit: 0,
  tie_word_embeddings: false,
  eos_token_id: 2,
  pad_token_id: 0,
  torch_dtype: 'float32',
} as const;

export const GLM_TINY_TOKENIZER_CONFIG = { tokenizer_class: BYTE_TOKENIZER_CLASS };

/**
 * Deterministic initial weights for any config: norms 1, qkv bias 0, every matrix N(0, 0.02) (GPT-2 /
 * Megatron's init_method_std) except the output layer, N(0, 0.1). The final RMSNorm fixes the hidden
 * state's scale, so the output layer's scale caps every logit at about std·hidden (12.8 for glm-tiny):
 * at 0.02 the cap is 2.6, no confident prediction is reachable, and methods that leave the output layer
 * frozen (LoRA, P-tuning) cannot fit anything. Initial logits stay small (std·√hidden ≈ 1.1). Each tensor
 * draws from its own generator seeded by (seed, name), so values do not depend on production order.
 */
export function randomWeights(config: ModelConfig, seed: number): TensorToWrite[] {
  return [...expectedTensorShapes(config)].map(([name, shape]) => ({
    name,
    shape,
    data: () => {
      const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
      if (name.endsWith('layernorm.weight')) return values.fill(1);
      if (name.endsWith('.bias')) return values;
      const rng = new Rng((seed ^ hashString(name)) >>> 0);
      const std = name === 'transformer.output_layer.weight' ? OUTPUT_LAYER_STD : 0.02;
      for (let i = 0; i < values.length; i++) values[i] = std * rng.normal();
      return values;
    },
  }));
}

/**
 * Makes sure `dir` holds glm-tiny as an HF-layout folder (config.json, model.safetensors,
 * tokenizer_config.json), creating it on first use. Written in a sibling temporary folder and renamed
 * into place, so two processes starting together both end up with one complete folder.
 */
export function ensureTinyModel(dir: string): string {
  if (existsSync(join(dir, 'config.json'))) return dir;
  mkdirSync(dirname(dir), { recursive: true });
  const temp = mkdtempSync(join(dirname(dir), `.${basename(dir)}.tmp-`));
  try {
    const config = parseModelConfig(GLM_TINY_CONFIG, GLM_TINY_ID);
    writeWeights(temp, randomWeights(config, GLM_TINY_SEED));
    writeFileSync(join(temp, 'config.json'), `${JSON.stringify(GLM_TINY_CONFIG, null, 2)}\n`);
    writeFileSync(join(temp, 'tokenizer_config.json'), `${JSON.stringify(GLM_TINY_TOKENIZER_CONFIG, null, 2)}\n`);
    renameSync(temp, dir);
  } catch (err) {
    rmSync(temp, { recursive: true, force: true });
    if (existsSync(join(dir, 'config.json'))) return dir; // another process finished first
    throw err;
  }
  return dir;
}
