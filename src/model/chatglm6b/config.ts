// A ChatGLM-6B (v1) config.json, THUDM's configuration_chatglm.py keys, parsed into ChatGlm6bConfig, and
// the tensor names and shapes it implies. Free of TF.js: the HTTP thread reads configs too (registry).
import { z } from 'zod';
import type { ModelConfigBase } from '../config.ts';
import { ModelFormatError } from '../errors.ts';

/**
 * THUDM's original ChatGLM-6B `ChatGLMForConditionalGeneration`: LayerNorm with bias, per-head
 * interleaved query_key_value, 2D rotary positions, GLM's prefix-mask attention, tanh-GeLU MLP, and an
 * output head tied to the word embeddings. `paddedVocabSize` is the config's vocab_size and
 * `seqLength` its max_sequence_length.
 */
export interface ChatGlm6bConfig extends ModelConfigBase {
  architecture: 'chatglm6b';
  /** Width of the MLP (dense_h_to_4h's outputs). */
  innerHiddenSize: number;
  /** Per-head dimension d = hidden_size / num_attention_heads. */
  headDim: number;
  /** [MASK] and [gMASK]: the position of every token after the context is the index of one of them. */
  maskTokenId: number;
  gmaskTokenId: number;
  /** `<sop>`: the context is everything before it (bidirectional), generation starts at it (causal). */
  bosTokenId: number;
}

const int = z.number().int();
const positive = int.positive();

// Shape keys and the special ids the architecture computes with are required (THUDM's defaults for the
// ids are an old vocabulary's, 150000…, and the shipped configs state them); the rest default as in
// THUDM's configuration_chatglm.py. Unknown keys are kept.
const chatGlm6bSchema = z.looseObject({
  model_type: z.literal('chatglm', { error: 'model_type must be "chatglm" (THUDM remote-code checkpoints)' }),
  num_layers: positive,
  hidden_size: positive,
  num_attention_heads: positive,
  inner_hidden_size: positive,
  vocab_size: positive,
  max_sequence_length: positive,
  layernorm_epsilon: z.number().positive().default(1e-5),
  position_encoding_2d: z.boolean().default(true),
  quantization_bit: int.default(0),
  pre_seq_len: positive.nullable().default(null),
  prefix_projection: z.boolean().default(false),
  mask_token_id: int.nonnegative(),
  gmask_token_id: int.nonnegative(),
  bos_token_id: int.nonnegative(),
  eos_token_id: int.nonnegative(),
  pad_token_id: int.nonnegative().default(0),
});

/** Settings THUDM's code supports that this runtime does not implement: [predicate, reason]. */
function unsupportedSettings(c: z.infer<typeof chatGlm6bSchema>): string[] {
  const headDim = c.hidden_size / c.num_attention_heads;
  const checks: [boolean, string][] = [
    [!c.position_encoding_2d, 'position_encoding_2d=false (1-D positions)'],
    [c.quantization_bit !== 0, `quantization_bit=${c.quantization_bit} (THUDM's int4/int8 checkpoints)`],
    [!Number.isInteger(headDim), 'hidden_size not a multiple of num_attention_heads'],
    [Number.isInteger(headDim) && headDim % 4 !== 0, 'head dimension not a multiple of 4 (two rotary halves of rotate_half pairs)'],
  ];
  return checks.filter(([bad]) => bad).map(([, reason]) => reason);
}

/** Parses a v1 config.json object; `source` names it in errors. */
export function parseChatGlm6bConfig(raw: Record<string, unknown>, source: string): ChatGlm6bConfig {
  const parsed = chatGlm6bSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ModelFormatError(`${source}: invalid ChatGLM-6B config: ${issues.join('; ')}`);
  }
  const c = parsed.data;
  const unsupported = unsupportedSettings(c);
  if (unsupported.length > 0) {
    throw new ModelFormatError(`${source}: unsupported ChatGLM-6B setting(s): ${unsupported.join('; ')}`);
  }
  return {
    architecture: 'chatglm6b',
    numLayers: c.num_layers,
    hiddenSize: c.hidden_size,
    innerHiddenSize: c.inner_hidden_size,
    numAttentionHeads: c.num_attention_heads,
    headDim: c.hidden_size / c.num_attention_heads,
    paddedVocabSize: c.vocab_size,
    seqLength: c.max_sequence_length,
    layernormEpsilon: c.layernorm_epsilon,
    preSeqLen: c.pre_seq_len,
    prefixProjection: c.prefix_projection,
    maskTokenId: c.mask_token_id,
    gmaskTokenId: c.gmask_token_id,
    bosTokenId: c.bos_token_id,
    eosTokenIds: [c.eos_token_id],
    padTokenId: c.pad_token_id,
    raw,
  };
}

/** The parameters' THUDM names and shapes, in checkpoint order (embedding, layers, final norm). */
export function chatGlm6bTensorShapes(config: ChatGlm6bConfig): Map<string, number[]> {
  const { hiddenSize: h, innerHiddenSize: inner } = config;
  const shapes = new Map<string, number[]>();
  shapes.set('transformer.word_embeddings.weight', [config.paddedVocabSize, h]);
  for (let i = 0; i < config.numLayers; i++) {
    const p = `transformer.layers.${i}.`;
    shapes.set(`${p}input_layernorm.weight`, [h]);
    shapes.set(`${p}input_layernorm.bias`, [h]);
    shapes.set(`${p}attention.query_key_value.weight`, [3 * h, h]);
    shapes.set(`${p}attention.query_key_value.bias`, [3 * h]);
    shapes.set(`${p}attention.dense.weight`, [h, h]);
    shapes.set(`${p}attention.dense.bias`, [h]);
    shapes.set(`${p}post_attention_layernorm.weight`, [h]);
    shapes.set(`${p}post_attention_layernorm.bias`, [h]);
    shapes.set(`${p}mlp.dense_h_to_4h.weight`, [inner, h]);
    shapes.set(`${p}mlp.dense_h_to_4h.bias`, [inner]);
    shapes.set(`${p}mlp.dense_4h_to_h.weight`, [h, inner]);
    shapes.set(`${p}mlp.dense_4h_to_h.bias`, [h]);
  }
  shapes.set('transformer.final_layernorm.weight', [h]);
  shapes.set('transformer.final_layernorm.bias', [h]);
  return shapes;
}

/** The tied output head's name: checkpoints carry it, the model reads the word embeddings instead. */
export const TIED_LM_HEAD = 'lm_head.weight';

const ROTARY_BUFFER = /^transformer\.layers\.\d+\.attention\.rotary_emb\.inv_freq$/;

/**
 * Tensors v1 checkpoints carry that the model never reads: the output head, which transformers ties to
 * the word embeddings on load (the embedding's values win), and each layer's rotary inv_freq buffer,
 * which THUDM's RotaryEmbedding does not load (its _load_from_state_dict is a no-op).
 */
export function isUnusedChatGlm6bTensor(name: string): boolean {
  return name === TIED_LM_HEAD || ROTARY_BUFFER.test(name);
}
