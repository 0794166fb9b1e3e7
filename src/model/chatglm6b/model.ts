// THUDM's ChatGLM-6B (v1) ChatGLMForConditionalGeneration on TF.js, classes in the order data flows:
// LayerNorm, Linear, SelfAttention, GLU (the MLP), GLMBlock, ChatGlm6bModel. Module and parameter names
// are THUDM's (`transformer.layers.N.attention.query_key_value`), so this file reads side by side with
// the v1 modeling_chatglm.py. Shapes: B batch, T new tokens, N = B·T, h hidden, H heads, d = h/H,
// K keys attended (prefix + cache + new), I inner (MLP) width, V vocabulary.
// Performance recipes as in ../glm.ts: rotary as one constant matmul, the mask and rotary tables built
// once per forward (./attention-inputs.ts), 2D [N, h] between blocks, only ops with gradients.
import * as tf from '@tensorflow/tfjs';
import type { Rows } from '../attention-inputs.ts';
import type { ModelConfig } from '../config.ts';
import type { LayerKeyValues } from '../kv-cache.ts';
import type { ForwardOptions } from '../language-model.ts';
import { Linear, loadParameters, ThudmModel, type KeyValueLayout, type LinearContext } from '../thudm-model.ts';
import type { WeightSource } from '../weights/checkpoint.ts';
import type { TensorToWrite } from '../weights/safetensors.ts';
import { continuationInputs, promptInputs, queryTables, rotaryHalfPairMatrix, rotaryTables, rowContexts, type AttentionInputs } from './attention-inputs.ts';
import { ChatGlm6bCache } from './cache.ts';
import { TIED_LM_HEAD, type ChatGlm6bConfig } from './config.ts';
import { gelu } from './gelu.ts';

/**
 * The residual scale of every GLMBlock: (2·num_layers)^0.5 with GLMBlock's own num_layers argument,
 * which defaults to 28 and which ChatGLMModel never passes, so it is √56 whatever the config says.
 */
const ALPHA = Math.sqrt(2 * 28);

/** What every module of one forward pass shares. */
interface ForwardContext extends LinearContext {
  batch: number;
  seq: number;
  /** cos/sin tables [B, T, 1, d] for the keys, and for the queries with 1/√d folded in. */
  rotaryK: { cos: tf.Tensor4D; sin: tf.Tensor4D };
  rotaryQ: { cos: tf.Tensor4D; sin: tf.Tensor4D };
  mask: tf.Tensor4D | null; // [B, 1, T, K]
}

/** torch.nn.LayerNorm: (x − mean) / √(biased variance + eps) · weight + bias, over the hidden dim. */
class LayerNorm {
  constructor(readonly weight: tf.Variable, readonly bias: tf.Variable, private readonly eps: number) {}

  forward(x: tf.Tensor2D): tf.Tensor2D {
    const centered = tf.sub(x, tf.mean(x, -1, true)); // [N, h]
    const variance = tf.mean(tf.square(centered), -1, true); // [N, 1]
    return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, this.eps))), this.weight), this.bias);
  }
}

class SelfAttention {
  constructor(readonly query_key_value: Linear, readonly dense: Linear, private readonly heads: number, private readonly d: number, private readonly rotaryP: tf.Tensor2D) {}

  /** x: [N, h]; past: this layer's cached or prefix keys/values. Returns the output and the full keys/values. */
  forward(x: tf.Tensor2D, ctx: ForwardContext, past: LayerKeyValues | null): { out: tf.Tensor2D; kv: LayerKeyValues } {
    const { batch: B, seq: T } = ctx;
    const { heads: H, d } = this;
    // [N, 3h] viewed as [N, H, 3d]: each head holds its own q | k | v (not [Q_all | K_all | V_all])
    const [q, k, v] = tf.split(tf.reshape(this.query_key_value.forward(x, ctx), [B * T, H, 3 * d]), 3, 2); // [N, H, d] each
    const queries = tf.transpose(this.rotate(q, ctx.rotaryQ), [0, 2, 1, 3]); // [B, H, T, d], scaled by 1/√d
    let keys = tf.transpose(this.rotate(k, ctx.rotaryK), [0, 2, 1, 3]) as tf.Tensor4D; // [B, H, T, d]
    let values = tf.transpose(tf.reshape(v, [B, T, H, d]), [0, 2, 1, 3]) as tf.Tensor4D; // [B, H, T, d]
    if (past) {
      keys = tf.concat([past.key, keys], 2); // [B, H, K, d]
      values = tf.concat([past.value, values], 2);
    }

    let scores = tf.matMul(queries, keys, false, true); // [B, H, T, K]
    if (ctx.mask) scores = tf.add(scores, ctx.mask);
    const context = tf.matMul(tf.softmax(scores), values); // [B, H, T, d]
    const merged = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [B * T, H * d]) as tf.Tensor2D;
    return { out: this.dense.forward(merged, ctx), kv: { key: keys, value: values } };
  }

  /** 2D rotary x·cos + (x·P)·sin on x: [N, H, d] → [B, T, H, d]. */
  private rotate(x: tf.Tensor, tables: { cos: tf.Tensor4D; sin: tf.Tensor4D }): tf.Tensor4D {
    const [B, T] = [tables.cos.shape[0], tables.cos.shape[1]];
    const { heads: H, d } = this;
    const paired = tf.reshape(tf.matMul(tf.reshape(x, [B * T * H, d]), this.rotaryP), [B, T, H, d]);
    return tf.add(tf.mul(tf.reshape(x, [B, T, H, d]), tables.cos), tf.mul(paired, tables.sin));
  }
}

/** THUDM's GLU, which despite its name is not gated: dense_4h_to_h(gelu(dense_h_to_4h(x))). */
class GLU {
  constructor(readonly dense_h_to_4h: Linear, readonly dense_4h_to_h: Linear) {}

  forward(x: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    return this.dense_4h_to_h.forward(gelu(this.dense_h_to_4h.forward(x, ctx)), ctx); // [N, I] in between
  }
}

class GLMBlock {
  constructor(readonly input_layernorm: LayerNorm, readonly attention: SelfAttention, readonly post_attention_layernorm: LayerNorm, readonly mlp: GLU) {}

  /** The residual is the normalised input scaled by α: a = LN(x); x = a·α + attn(a); m = LN(x); x = m·α + mlp(m). */
  forward(x: tf.Tensor2D, ctx: ForwardContext, past: LayerKeyValues | null): { out: tf.Tensor2D; kv: LayerKeyValues } {
    const attentionInput = this.input_layernorm.forward(x);
    const attention = this.attention.forward(attentionInput, ctx, past);
    const h = tf.add(tf.mul(attentionInput, ALPHA), attention.out) as tf.Tensor2D;
    const mlpInput = this.post_attention_layernorm.forward(h);
    return { out: tf.add(tf.mul(mlpInput, ALPHA), this.mlp.forward(mlpInput, ctx)) as tf.Tensor2D, kv: attention.kv };
  }
}

/**
 * ChatGLMForConditionalGeneration of ChatGLM-6B: word embeddings, layers, final LayerNorm, and the
 * output head tied to the word embeddings (one parameter, used twice). Parameters are tf.Variables keyed
 * by THUDM name, created non-trainable: a trainer marks what trains.
 *
 * Positions and the attention mask come from the ids, as THUDM's model computes them: each row needs a
 * `<sop>` (bos), and a [gMASK] or [MASK] before it. `attentionMask` marks left padding (ChatGLM's
 * tokenizer pads on the left); `positionIds` is not accepted.
 */
export class ChatGlm6bModel extends ThudmModel<ChatGlm6bConfig> {
  private readonly layers: GLMBlock[];
  private readonly final_layernorm: LayerNorm;
  private readonly word_embeddings: tf.Variable;
  protected readonly keyValueLayout: KeyValueLayout;

  private constructor(config: ChatGlm6bConfig, params: Map<string, tf.Variable>) {
    super(config, params, rotaryHalfPairMatrix(config.headDim), config.headDim);
    const d = config.headDim;
    const norm = (name: string): LayerNorm => new LayerNorm(params.get(`${name}.weight`)!, params.get(`${name}.bias`)!, config.layernormEpsilon);
    this.layers = Array.from({ length: config.numLayers }, (_, i) => {
      const p = `transformer.layers.${i}`;
      const attention = new SelfAttention(this.linear(`${p}.attention.query_key_value`), this.linear(`${p}.attention.dense`), config.numAttentionHeads, d, this.rotaryP);
      const mlp = new GLU(this.linear(`${p}.mlp.dense_h_to_4h`), this.linear(`${p}.mlp.dense_4h_to_h`));
      return new GLMBlock(norm(`${p}.input_layernorm`), attention, norm(`${p}.post_attention_layernorm`), mlp);
    });
    this.final_layernorm = norm('transformer.final_layernorm');
    this.word_embeddings = params.get('transformer.word_embeddings.weight')!;
    this.keyValueLayout = { layers: config.numLayers, heads: config.numAttentionHeads, headDim: d };
  }

  /**
   * Builds the model from named tensors; `lm_head.weight` and the rotary inv_freq buffers may be there
   * (THUDM's checkpoints carry them) and are not read.
   */
  static fromWeights(config: ModelConfig, source: WeightSource): ChatGlm6bModel {
    if (config.architecture !== 'chatglm6b') throw new Error(`ChatGlm6bModel is the ChatGLM-6B (v1) architecture, not ${config.architecture} (loadModel picks the class)`);
    return new ChatGlm6bModel(config, loadParameters(config, source));
  }

  /** ChatGLM-6B's cache also keeps each row's mask position for the 2D positions of later tokens. */
  protected override newCache(batchSize: number, initial?: { layers: LayerKeyValues[]; keyMask: number[][] }): ChatGlm6bCache {
    return new ChatGlm6bCache(batchSize, initial);
  }

  /** Also `lm_head.weight` (the word embeddings' values), as THUDM's checkpoints carry it. */
  override weightsToWrite(): TensorToWrite[] {
    const embeddings = this.word_embeddings;
    return [...super.weightsToWrite(), { name: TIED_LM_HEAD, shape: embeddings.shape, data: () => embeddings.dataSync() as Float32Array }];
  }

  /** The tied output head: x · word_embeddingsᵀ, no bias. */
  protected outputLayer(x: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(x, this.word_embeddings as tf.Tensor2D, false, true); // [rows, V]
  }

  /** Positions and mask of this pass: from the ids for whole rows, from the cache for decoding steps. */
  private attentionInputs(inputIds: Rows, tokenMask: Rows, cache: ChatGlm6bCache | undefined, prefixLength: number): AttentionInputs {
    const T = inputIds[0].length;
    const maskPositions = cache?.maskPositions;
    if (cache && maskPositions) {
      if (tokenMask.some((row) => row.includes(0))) throw new Error('padding belongs in the prompt pass: decoding steps take tokens only');
      return continuationInputs(cache.keyMask, T, maskPositions, cache.nextPositions);
    }
    return promptInputs(rowContexts(inputIds, tokenMask, this.config), T, cache ? cache.length : prefixLength);
  }

  protected hiddenStates(inputIds: Rows, options: ForwardOptions): tf.Tensor2D {
    const { config } = this;
    this.checkIds(inputIds);
    const B = inputIds.length;
    const T = inputIds[0].length;
    const { prefix } = options;
    if (options.positionIds) throw new Error('ChatGLM-6B computes its 2D position ids from [gMASK]/<sop> in the ids: positionIds is not accepted');
    if (options.cache && !(options.cache instanceof ChatGlm6bCache)) throw new Error('a ChatGLM-6B forward needs a cache made by its createCache');
    const cache = options.cache as ChatGlm6bCache | undefined;
    const { tokenMask, past } = this.passInputs(inputIds, options, cache);

    const inputs = this.attentionInputs(inputIds, tokenMask, cache, prefix ? prefix.shape[0] : 0);
    const d = config.headDim;
    const keyTables = rotaryTables(inputs.positions, d);
    const qTables = queryTables(keyTables, d, inputs.seesKeys);
    const ctx: ForwardContext = {
      batch: B,
      seq: T,
      adapters: options.adapters,
      training: options.training ?? false,
      rotaryK: { cos: tf.tensor4d(keyTables.cos, [B, T, 1, d]), sin: tf.tensor4d(keyTables.sin, [B, T, 1, d]) },
      rotaryQ: { cos: tf.tensor4d(qTables.cos, [B, T, 1, d]), sin: tf.tensor4d(qTables.sin, [B, T, 1, d]) },
      mask: inputs.mask ? tf.tensor4d(inputs.mask.values, inputs.mask.shape) : null,
    };

    const embedded = tf.gather(this.word_embeddings, tf.tensor1d(inputIds.flat(), 'int32')) as tf.Tensor2D; // [N, h]
    const { out, kv } = this.runBlocks(this.layers, embedded, ctx, past);
    if (cache) {
      const nextBlocks = inputs.positions.map((rows) => rows[1][T - 1] + 1);
      cache.updateWithPositions(kv, this.grownKeyMask(cache, tokenMask), inputs.maskPositions, nextBlocks);
    }
    return this.final_layernorm.forward(out);
  }
}
