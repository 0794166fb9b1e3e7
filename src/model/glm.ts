// THUDM's ChatGLM2 architecture (ChatGLM2-6B, ChatGLM3-6B, GLM-4-9B) on TF.js, classes in the order data
// flows: RMSNorm, Linear, SelfAttention, MLP, GLMBlock, GlmModel. Module and parameter names are THUDM's,
// so this file reads side by side with modeling_chatglm.py. Shapes: B batch, T new tokens, N = B·T,
// h hidden, H query heads, g kv groups, d head dim, K keys attended (prefix + cache + new), V vocabulary.
// Performance recipes (notes/tfjs-on-cpu.md): grouped attention with query heads folded into rows (K/V
// never repeated), masks and rotary tables built once per forward, everything 2D [N, h] between attention
// blocks, only ops with gradients on every backend. RMSNorm, rotary + qkv split, the attention softmax,
// SwiGLU and the loss are src/compute/ops: one fused kernel each on the native CPU path, plain TF.js ops
// elsewhere.
import * as tf from '@tensorflow/tfjs';
import { maskedSoftmax } from '../compute/ops/attention-softmax.ts';
import { rmsNorm } from '../compute/ops/rms-norm.ts';
import { rotarySplit, type RotaryTables } from '../compute/ops/rotary-split.ts';
import { swiglu } from '../compute/ops/swiglu.ts';
import type { ChatGlm2Config, ModelConfig } from './config.ts';
import type { WeightSource } from './weights/checkpoint.ts';
import type { ForwardOptions } from './language-model.ts';
import type { LayerKeyValues } from './kv-cache.ts';
import { Linear, loadParameters, ThudmModel, type KeyValueLayout, type LinearContext } from './thudm-model.ts';
import { additiveMask, nextPositions, resolvePositions, rotaryPairMatrix, rotaryTables, type Rows } from './attention-inputs.ts';

/** What every module of one forward pass shares. */
interface ForwardContext extends LinearContext {
  batch: number;
  seq: number;
  dropout(x: tf.Tensor, rate: number): tf.Tensor;
  rotary: RotaryTables; // of the new tokens' positions
  mask: tf.Tensor4D | null; // [B or 1, 1, (H/g)·T, K]
}

class RMSNorm {
  constructor(readonly weight: tf.Variable, private readonly eps: number) {}

  forward(x: tf.Tensor2D): tf.Tensor2D {
    return rmsNorm(x, this.weight as tf.Tensor1D, this.eps); // x · rsqrt(mean(x²) + eps) · w, per token
  }
}

class SelfAttention {
  private readonly heads: number;
  private readonly groups: number;
  private readonly d: number;

  constructor(readonly query_key_value: Linear, readonly dense: Linear, config: ChatGlm2Config, private readonly dropoutRate: number) {
    this.heads = config.numAttentionHeads;
    this.groups = config.multiQueryGroupNum;
    this.d = config.kvChannels;
  }

  /** x: [N, h]; past: this layer's cached or prefix keys/values. Returns the output and the full keys/values. */
  forward(x: tf.Tensor2D, ctx: ForwardContext, past: LayerKeyValues | null): { out: tf.Tensor2D; kv: LayerKeyValues } {
    const { batch: B, seq: T } = ctx;
    const { heads: H, groups: g, d } = this;
    const qkv = this.query_key_value.forward(x, ctx); // [N, (H + 2g)·d]: queries, keys, values
    // queries [B, g, (H/g)·T, d] (head j·(H/g) + i of group j in rows i·T..), rotated and scaled by 1/√d;
    // keys (rotated) and values [B, g, T, d]
    const layout = { batch: B, seq: T, heads: H, groups: g, headDim: d };
    const { queries, keys: newKeys, values: newValues } = rotarySplit(qkv, ctx.rotary, layout, 1 / Math.sqrt(d));
    let keys = newKeys, values = newValues;
    if (past) {
      keys = tf.concat([past.key, keys], 2); // [B, g, K, d]
      values = tf.concat([past.value, values], 2);
    }

    const scores = tf.matMul(queries, keys, false, true) as tf.Tensor4D; // [B, g, (H/g)·T, K]
    const probs = ctx.dropout(maskedSoftmax(scores, ctx.mask), this.dropoutRate);
    const context = tf.matMul(probs, values); // [B, g, (H/g)·T, d]
    const merged = tf.reshape(tf.transpose(tf.reshape(context, [B, H, T, d]), [0, 2, 1, 3]), [B * T, H * d]) as tf.Tensor2D;
    return { out: this.dense.forward(merged, ctx), kv: { key: keys, value: values } };
  }
}

class MLP {
  constructor(readonly dense_h_to_4h: Linear, readonly dense_4h_to_h: Linear) {}

  forward(x: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    // SwiGLU: the first half of dense_h_to_4h is gated by silu, the second half is the value
    return this.dense_4h_to_h.forward(swiglu(this.dense_h_to_4h.forward(x, ctx)), ctx); // [N, 2·ffn] → [N, ffn] → [N, h]
  }
}

class GLMBlock {
  constructor(readonly input_layernorm: RMSNorm, readonly self_attention: SelfAttention, readonly post_attention_layernorm: RMSNorm, readonly mlp: MLP, private readonly hiddenDropout: number) {}

  forward(x: tf.Tensor2D, ctx: ForwardContext, past: LayerKeyValues | null): { out: tf.Tensor2D; kv: LayerKeyValues } {
    const attention = this.self_attention.forward(this.input_layernorm.forward(x), ctx, past);
    const h = tf.add(x, ctx.dropout(attention.out, this.hiddenDropout)) as tf.Tensor2D;
    const out = tf.add(h, ctx.dropout(this.mlp.forward(this.post_attention_layernorm.forward(h), ctx), this.hiddenDropout)) as tf.Tensor2D;
    return { out, kv: attention.kv };
  }
}

/** ChatGLMForConditionalGeneration: embedding, layers, final norm, output layer (thudm-model.ts). */
export class GlmModel extends ThudmModel<ChatGlm2Config> {
  private readonly layers: GLMBlock[];
  private readonly final_layernorm: RMSNorm;
  protected readonly keyValueLayout: KeyValueLayout;

  private constructor(config: ChatGlm2Config, params: Map<string, tf.Variable>) {
    super(config, params, rotaryPairMatrix(config.kvChannels), config.kvChannels);
    const norm = (name: string): RMSNorm => new RMSNorm(params.get(`${name}.weight`)!, config.layernormEpsilon);
    this.layers = Array.from({ length: config.numLayers }, (_, i) => {
      const p = `transformer.encoder.layers.${i}`;
      const attention = new SelfAttention(this.linear(`${p}.self_attention.query_key_value`), this.linear(`${p}.self_attention.dense`), config, config.attentionDropout);
      const mlp = new MLP(this.linear(`${p}.mlp.dense_h_to_4h`), this.linear(`${p}.mlp.dense_4h_to_h`));
      return new GLMBlock(norm(`${p}.input_layernorm`), attention, norm(`${p}.post_attention_layernorm`), mlp, config.hiddenDropout);
    });
    this.final_layernorm = norm('transformer.encoder.final_layernorm');
    this.keyValueLayout = { layers: config.numLayers, heads: config.multiQueryGroupNum, headDim: config.kvChannels };
  }

  /** Builds the model from named tensors (THUDM's unused rotary inv_freq buffer may be there too). */
  static fromWeights(config: ModelConfig, source: WeightSource): GlmModel {
    if (config.architecture !== 'chatglm2') throw new Error(`GlmModel is the ChatGLM2 architecture, not ${config.architecture} (loadModel picks the class)`);
    return new GlmModel(config, loadParameters(config, source));
  }

  protected outputLayer(x: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(x, this.params.get('transformer.output_layer.weight')!, false, true); // [rows, V]
  }

  protected hiddenStates(inputIds: Rows, options: ForwardOptions): tf.Tensor2D {
    const { config } = this;
    this.checkIds(inputIds);
    const B = inputIds.length;
    const T = inputIds[0].length;
    const { cache, prefix } = options;
    const { tokenMask, past } = this.passInputs(inputIds, options, cache);
    if (options.positionIds && (options.positionIds.length !== B || options.positionIds.some((r) => r.length !== T))) throw new Error('positionIds must have the shape of inputIds');

    const pastKeyMask: Rows = cache ? cache.keyMask : prefix ? this.prefixKeyMask(B, prefix.shape[0]) : inputIds.map(() => []);
    const start = cache ? cache.nextPositions : new Array<number>(B).fill(0);
    const positions = resolvePositions(tokenMask, start, options.positionIds);
    const d = config.kvChannels;
    const tables = rotaryTables(positions, d, 10000 * config.ropeRatio);
    const mask = additiveMask(pastKeyMask, tokenMask, config.numAttentionHeads / config.multiQueryGroupNum);

    let dropoutCalls = 0;
    const seed = options.dropoutSeed ?? Math.floor(Math.random() * 2 ** 31);
    const training = options.training ?? false;
    const ctx: ForwardContext = {
      batch: B,
      seq: T,
      adapters: options.adapters,
      training,
      dropout: (x, rate) => (training && rate > 0 ? tf.dropout(x, rate, undefined, `${seed}:${dropoutCalls++}`) : x),
      rotary: { cos: tf.tensor2d(tables.cos, [B * T, d]), sin: tf.tensor2d(tables.sin, [B * T, d]), pair: this.rotaryP },
      mask: mask ? tf.tensor4d(mask.values, mask.shape) : null,
    };

    const ids = tf.tensor1d(inputIds.flat(), 'int32');
    const embedded = tf.gather(this.params.get('transformer.embedding.word_embeddings.weight')!, ids) as tf.Tensor2D; // [N, h]
    const { out, kv } = this.runBlocks(this.layers, embedded, ctx, past);
    if (cache) {
      cache.update(kv, this.grownKeyMask(cache, tokenMask), nextPositions(positions, tokenMask, start));
    }
    return this.final_layernorm.forward(out);
  }
}
