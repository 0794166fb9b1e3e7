// A model folder's config.json (THUDM's keys) parsed into a typed config, one per architecture:
// ChatGLM2 (ChatGLM2/3, GLM-4) here, ChatGLM-6B v1 in chatglm6b/config.ts; `architecture` tells them
// apart. This module is free of TF.js: the HTTP thread reads configs too (registry).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { chatGlm6bTensorShapes, isUnusedChatGlm6bTensor, parseChatGlm6bConfig, type ChatGlm6bConfig } from './chatglm6b/config.ts';
import { ModelFormatError } from './errors.ts';
import type { WeightSource } from './weights/checkpoint.ts';

/** What every architecture's config states, under one name (generation, the registry and the methods read these). */
export interface ModelConfigBase {
  numLayers: number;
  hiddenSize: number;
  numAttentionHeads: number;
  /** Rows of the embedding and output layer (≥ the tokenizer's vocabulary). */
  paddedVocabSize: number;
  /** Context length the model was trained for. */
  seqLength: number;
  layernormEpsilon: number;
  /** P-tuning v2 prefix length when the folder is a P-tuning checkpoint, else null. */
  preSeqLen: number | null;
  prefixProjection: boolean;
  eosTokenIds: number[];
  padTokenId: number;
  /** The config.json object as read, so that a saved model writes back every key it came with. */
  raw: Record<string, unknown>;
}

/**
 * THUDM's `ChatGLMModel` as shipped with ChatGLM2-6B, ChatGLM3-6B and GLM-4-9B: RMSNorm, half-head
 * interleaved rotary, grouped K/V, fused qkv with bias, SwiGLU, untied output layer.
 */
export interface ChatGlm2Config extends ModelConfigBase {
  architecture: 'chatglm2';
  /** Width of one SwiGLU half; dense_h_to_4h has 2 × this many outputs. */
  ffnHiddenSize: number;
  /** Per-head dimension d. */
  kvChannels: number;
  /** Key/value heads; consecutive query heads share one (head k uses group floor(k / (heads/groups))). */
  multiQueryGroupNum: number;
  addQkvBias: boolean;
  /** Rotary base is 10000 · ropeRatio (GLM-4 long-context models raise it). */
  ropeRatio: number;
  hiddenDropout: number;
  attentionDropout: number;
}

/** Every architecture the runtime implements. */
export type ModelConfig = ChatGlm2Config | ChatGlm6bConfig;

const int = z.number().int();
const positive = int.positive();
const tokenIds = z.union([int, z.array(int).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]));

// Shape keys are required (a config without them is not a usable model); behaviour keys default as in
// THUDM's configuration_chatglm.py. Unknown keys are kept (THUDM adds new ones that change nothing here).
const chatGlm2Schema = z.looseObject({
  model_type: z.literal('chatglm', { error: 'model_type must be "chatglm" (THUDM remote-code checkpoints)' }),
  num_layers: positive,
  hidden_size: positive,
  ffn_hidden_size: positive,
  kv_channels: positive,
  num_attention_heads: positive,
  padded_vocab_size: positive,
  seq_length: positive,
  multi_query_attention: z.boolean().default(false),
  multi_query_group_num: positive.default(1),
  layernorm_epsilon: z.number().positive().default(1e-5),
  rmsnorm: z.boolean().default(true),
  apply_residual_connection_post_layernorm: z.boolean().default(false),
  post_layer_norm: z.boolean().default(true),
  add_bias_linear: z.boolean().default(false),
  add_qkv_bias: z.boolean().default(false),
  original_rope: z.boolean().default(true),
  rope_ratio: z.number().positive().default(1),
  hidden_dropout: z.number().min(0).max(1).default(0),
  attention_dropout: z.number().min(0).max(1).default(0),
  pre_seq_len: positive.nullable().default(null),
  prefix_projection: z.boolean().default(false),
  quantization_bit: int.default(0),
  tie_word_embeddings: z.boolean().default(false),
  eos_token_id: tokenIds.default([2]),
  pad_token_id: int.default(0),
});

// Keys that only ChatGLM-6B (v1) configs carry: their presence selects the v1 parser.
const V1_KEYS = ['position_encoding_2d', 'inner_hidden_size', 'max_sequence_length'];

/** Settings THUDM's code supports that this runtime does not implement: [predicate, reason]. */
function unsupportedSettings(c: z.infer<typeof chatGlm2Schema>): string[] {
  const checks: [boolean, string][] = [
    [!c.multi_query_attention, 'multi_query_attention=false (per-head interleaved qkv layout)'],
    [!c.rmsnorm, 'rmsnorm=false (LayerNorm)'],
    [c.apply_residual_connection_post_layernorm, 'apply_residual_connection_post_layernorm=true'],
    [!c.post_layer_norm, 'post_layer_norm=false'],
    [c.add_bias_linear, 'add_bias_linear=true'],
    [!c.original_rope, 'original_rope=false'],
    [c.quantization_bit !== 0, `quantization_bit=${c.quantization_bit} (THUDM's int4/int8 checkpoints)`],
    [c.tie_word_embeddings, 'tie_word_embeddings=true'],
    [c.num_attention_heads % c.multi_query_group_num !== 0, 'num_attention_heads not a multiple of multi_query_group_num'],
    [c.kv_channels % 4 !== 0, 'kv_channels not a multiple of 4 (rotary pairs on half of each head)'],
  ];
  return checks.filter(([bad]) => bad).map(([, reason]) => reason);
}

/** Parses a config.json object; `source` names it in errors (usually the file path). */
export function parseModelConfig(json: unknown, source = 'config.json'): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ModelFormatError(`${source}: not a JSON object`);
  }
  const raw = json as Record<string, unknown>;
  if (V1_KEYS.some((k) => k in raw)) return parseChatGlm6bConfig(raw, source);
  if ('vision_config' in raw) {
    throw new ModelFormatError(`${source}: multimodal GLM models (config key "vision_config") are not supported`);
  }
  const parsed = chatGlm2Schema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ModelFormatError(`${source}: invalid ChatGLM config: ${issues.join('; ')}`);
  }
  const c = parsed.data;
  const unsupported = unsupportedSettings(c);
  if (unsupported.length > 0) {
    throw new ModelFormatError(`${source}: unsupported ChatGLM setting(s): ${unsupported.join('; ')}`);
  }
  return {
    architecture: 'chatglm2',
    numLayers: c.num_layers,
    hiddenSize: c.hidden_size,
    ffnHiddenSize: c.ffn_hidden_size,
    kvChannels: c.kv_channels,
    numAttentionHeads: c.num_attention_heads,
    multiQueryGroupNum: c.multi_query_group_num,
    paddedVocabSize: c.padded_vocab_size,
    seqLength: c.seq_length,
    layernormEpsilon: c.layernorm_epsilon,
    addQkvBias: c.add_qkv_bias,
    ropeRatio: c.rope_ratio,
    hiddenDropout: c.hidden_dropout,
    attentionDropout: c.attention_dropout,
    preSeqLen: c.pre_seq_len,
    prefixProjection: c.prefix_projection,
    eosTokenIds: c.eos_token_id,
    padTokenId: c.pad_token_id,
    raw,
  };
}

/** Reads and parses `<dir>/config.json`. */
export function readModelConfig(dir: string): ModelConfig {
  const path = join(dir, 'config.json');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ModelFormatError(`${path}: ${(err as Error).message}`);
  }
  return parseModelConfig(json, path);
}

/** The THUDM tensor names and shapes of the model's parameters, in checkpoint order of the layers. */
export function expectedTensorShapes(config: ModelConfig): Map<string, number[]> {
  return config.architecture === 'chatglm6b' ? chatGlm6bTensorShapes(config) : chatGlm2TensorShapes(config);
}

function chatGlm2TensorShapes(config: ChatGlm2Config): Map<string, number[]> {
  const { hiddenSize: h, numAttentionHeads: H, multiQueryGroupNum: g, kvChannels: d, ffnHiddenSize: f } = config;
  const shapes = new Map<string, number[]>();
  shapes.set('transformer.embedding.word_embeddings.weight', [config.paddedVocabSize, h]);
  for (let i = 0; i < config.numLayers; i++) {
    const p = `transformer.encoder.layers.${i}.`;
    shapes.set(`${p}input_layernorm.weight`, [h]);
    shapes.set(`${p}self_attention.query_key_value.weight`, [(H + 2 * g) * d, h]);
    if (config.addQkvBias) shapes.set(`${p}self_attention.query_key_value.bias`, [(H + 2 * g) * d]);
    shapes.set(`${p}self_attention.dense.weight`, [h, H * d]);
    shapes.set(`${p}post_attention_layernorm.weight`, [h]);
    shapes.set(`${p}mlp.dense_h_to_4h.weight`, [2 * f, h]);
    shapes.set(`${p}mlp.dense_4h_to_h.weight`, [h, f]);
  }
  shapes.set('transformer.encoder.final_layernorm.weight', [h]);
  shapes.set('transformer.output_layer.weight', [config.paddedVocabSize, h]);
  return shapes;
}

/** Tensors real checkpoints carry that the model does not read (THUDM's forward never does either). */
export function isUnusedTensor(config: ModelConfig, name: string): boolean {
  return config.architecture === 'chatglm6b' ? isUnusedChatGlm6bTensor(name) : name === 'transformer.rotary_pos_emb.inv_freq';
}

/**
 * Checks that the weights are exactly the model's: every expected tensor present with its shape, no
 * other tensor (except ones real checkpoints carry unused). Reads headers only.
 */
export function checkWeights(config: ModelConfig, source: WeightSource): void {
  const expected = expectedTensorShapes(config);
  const present = new Set(source.names());
  for (const name of present) {
    if (!expected.has(name) && !isUnusedTensor(config, name)) throw new ModelFormatError(`${source.location}: unexpected tensor "${name}"`);
  }
  for (const [name, shape] of expected) {
    if (!present.has(name)) throw new ModelFormatError(`${source.location}: missing tensor "${name}"`);
    const actual = source.shape(name);
    if (actual.length !== shape.length || actual.some((n, i) => n !== shape[i])) {
      throw new ModelFormatError(`${source.location}: tensor "${name}" has shape [${actual}], expected [${shape}]`);
    }
  }
}

/** Parameter count from the config alone (the weights' shapes must agree; loading checks it). */
export function parameterCount(config: ModelConfig): number {
  let n = 0;
  for (const shape of expectedTensorShapes(config).values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}
