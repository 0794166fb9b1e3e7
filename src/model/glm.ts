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
import { checkWeights, expectedTensorShapes, type ChatGlm2Config, type ModelConfig } from './config.ts';
import type { WeightSource } from './weights/checkpoint.ts';
import type { TensorToWrite } from './weights/safetensors.ts';
import type { AdapterSet, FrozenLinearWeight } from './extensions.ts';
import type { CausalLanguageModel } from './language-model.ts';
import { KvCache, type LayerKeyValues } from './kv-cache.ts';
import { meanCrossEntropy, predictedPositions } from './loss.ts';
import { additiveMask, nextPositions, resolvePositions, rotaryPairMatrix, rotaryTables, type Rows } from './attention-inputs.ts';

export interface ForwardOptions {
  /** [B, T]: 1 for tokens, 0 for left padding. Default all ones. */
  attentionMask?: Rows;
  /** [B, T]. Default: each row's real tokens numbered from 0 (or from where its cache left off). */
  positionIds?: Rows;
  /** Incremental decoding: attend to the cached keys, then append this pass's keys to the cache. */
  cache?: KvCache;
  /**
   * P-tuning v2 prefix key/values, THUDM's prefix_encoder output [P, layers·2·g·d] (layer l's key is
   * slot 2l, its value 2l+1). Not rotated; every query sees all P slots; positions still start at 0.
   * Apply the method's prefix dropout before passing it. With a cache, give it to createCache instead.
   */
  prefix?: tf.Tensor;
  /** Additive adapters per linear site (LoRA), for this pass only. */
  adapters?: AdapterSet;
  /** Training mode: hidden and attention dropout (config rates) are applied. */
  training?: boolean;
  /** Seed of this pass's dropout masks (repeatable training); random when omitted. */
  dropoutSeed?: number;
  /** Compute logits for the last position only ([B, 1, V]); generation needs no more. */
  lastPositionOnly?: boolean;
  /** Also return the final-normed hidden states (distillation, scoring). */
  returnHidden?: boolean;
}

export interface ForwardOutput {
  logits: tf.Tensor3D; //  [B, T, V] (T = 1 with lastPositionOnly)
  hidden?: tf.Tensor3D; // [B, T, h]
}

/** What every module of one forward pass shares. */
interface ForwardContext {
  batch: number;
  seq: number;
  adapters?: AdapterSet;
  training: boolean;
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

/** A linear site: y = x·Wᵀ (+ b) + adapter deltas. W may be swapped for a frozen source (QLoRA). */
class Linear {
  frozen: FrozenLinearWeight | null = null;

  constructor(readonly name: string, public weight: tf.Variable | null, readonly bias: tf.Variable | null) {}

  forward(x: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    let y: tf.Tensor2D = this.frozen ? this.frozen.matmulTransposed(x) : tf.matMul(x, this.weight as tf.Tensor2D, false, true);
    if (this.bias) y = tf.add(y, this.bias);
    const adapter = ctx.adapters?.get(this.name);
    if (adapter) y = tf.add(y, adapter.delta(x, ctx.training));
    return y;
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

function shapesEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

/** Validates a token-id batch: rectangular, ids within the embedding. */
function checkIds(ids: Rows, vocab: number): void {
  if (ids.length === 0 || ids[0].length === 0) throw new Error('inputIds must be a non-empty [batch, seq] array');
  for (const row of ids) {
    if (row.length !== ids[0].length) throw new Error('inputIds rows must have equal length (pad them)');
    for (const id of row) if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new Error(`token id ${id} outside the vocabulary [0, ${vocab})`);
  }
}

/**
 * ChatGLMForConditionalGeneration: embedding, layers, final norm, output layer. Parameters are
 * tf.Variables keyed by THUDM name, created non-trainable: a trainer marks what trains
 * (`variable.trainable = true`) and passes them to tf.variableGrads.
 */
export class GlmModel implements CausalLanguageModel {
  /** Parameters by THUDM tensor name, in checkpoint order (embedding, layers, final norm, output). */
  readonly parameters: ReadonlyMap<string, tf.Variable>;
  private readonly params: Map<string, tf.Variable>;
  private readonly layers: GLMBlock[];
  private readonly linears: Map<string, Linear>;
  private readonly final_layernorm: RMSNorm;
  private readonly rotaryP: tf.Tensor2D;

  private constructor(readonly config: ChatGlm2Config, params: Map<string, tf.Variable>) {
    this.params = params;
    this.parameters = params;
    // kept: the model may be built inside a caller's tidy
    this.rotaryP = tf.keep(tf.tensor2d(rotaryPairMatrix(config.kvChannels), [config.kvChannels, config.kvChannels]));
    this.linears = new Map();
    const linear = (site: string): Linear => {
      const l = new Linear(site, params.get(`${site}.weight`)!, params.get(`${site}.bias`) ?? null);
      this.linears.set(site, l);
      return l;
    };
    const norm = (name: string): RMSNorm => new RMSNorm(params.get(`${name}.weight`)!, config.layernormEpsilon);
    this.layers = Array.from({ length: config.numLayers }, (_, i) => {
      const p = `transformer.encoder.layers.${i}`;
      const attention = new SelfAttention(linear(`${p}.self_attention.query_key_value`), linear(`${p}.self_attention.dense`), config, config.attentionDropout);
      const mlp = new MLP(linear(`${p}.mlp.dense_h_to_4h`), linear(`${p}.mlp.dense_4h_to_h`));
      return new GLMBlock(norm(`${p}.input_layernorm`), attention, norm(`${p}.post_attention_layernorm`), mlp, config.hiddenDropout);
    });
    this.final_layernorm = norm('transformer.encoder.final_layernorm');
  }

  /**
   * Builds the model from named tensors, one at a time. Every expected tensor must be present with its
   * shape, and no other tensor may be (except THUDM's unused rotary inv_freq buffer).
   */
  static fromWeights(config: ModelConfig, source: WeightSource): GlmModel {
    if (config.architecture !== 'chatglm2') throw new Error(`GlmModel is the ChatGLM2 architecture, not ${config.architecture} (loadModel picks the class)`);
    checkWeights(config, source);
    const expected = expectedTensorShapes(config);
    const params = new Map<string, tf.Variable>();
    try {
      for (const [name, shape] of expected) {
        const values = tf.tensor(source.read(name), shape, 'float32');
        params.set(name, tf.variable(values, false));
        values.dispose();
      }
    } catch (err) {
      for (const v of params.values()) v.dispose();
      throw err;
    }
    return new GlmModel(config, params);
  }

  /** THUDM module names of the linear sites adapters can target, layer by layer. */
  linearSites(): string[] {
    return [...this.linears.keys()];
  }

  /**
   * Replaces a linear site's float weight with a frozen source (QLoRA): the variable is disposed and
   * leaves `parameters`.
   */
  replaceLinearWeight(site: string, frozen: FrozenLinearWeight): void {
    const linear = this.linears.get(site);
    if (!linear) throw new Error(`no linear site "${site}"`);
    const current = linear.frozen ? linear.frozen.shape : linear.weight!.shape;
    if (!shapesEqual(frozen.shape, current)) throw new Error(`${site}: frozen weight shape [${frozen.shape}] differs from [${current}]`);
    linear.frozen?.dispose();
    linear.weight?.dispose();
    linear.weight = null;
    linear.frozen = frozen;
    this.params.delete(`${site}.weight`);
  }

  /** A cache for incremental decoding of `batchSize` rows, holding the P-tuning prefix when given. */
  createCache(batchSize: number, prefix?: tf.Tensor): KvCache {
    if (!prefix) return new KvCache(batchSize);
    const layers = tf.tidy(() => this.prefixKeyValues(prefix, batchSize));
    const keyMask = Array.from({ length: batchSize }, () => new Array<number>(prefix.shape[0]).fill(1));
    return new KvCache(batchSize, { layers, keyMask });
  }

  /** Runs the model on a [B, T] batch of token ids. */
  forward(inputIds: Rows, options: ForwardOptions = {}): ForwardOutput {
    return tf.tidy(() => {
      const hidden = this.hiddenStates(inputIds, options); // [N, h], final-normed
      const [B, T] = [inputIds.length, inputIds[0].length];
      const h = this.config.hiddenSize;
      const rows = options.lastPositionOnly ? tf.reshape(tf.slice(tf.reshape(hidden, [B, T, h]), [0, T - 1, 0], [B, 1, h]), [B, h]) : hidden;
      const logits = tf.reshape(this.outputLayer(rows as tf.Tensor2D), [B, options.lastPositionOnly ? 1 : T, this.config.paddedVocabSize]) as tf.Tensor3D;
      return options.returnHidden ? { logits, hidden: tf.reshape(hidden, [B, T, h]) as tf.Tensor3D } : { logits };
    });
  }

  /**
   * Causal-LM loss (loss.ts): logits at t predict labels at t+1, -100 ignored, mean over the predicted
   * tokens of the batch. Only predicted rows go through the output layer.
   */
  loss(inputIds: Rows, labels: Rows, options: Omit<ForwardOptions, 'cache' | 'lastPositionOnly' | 'returnHidden'> = {}): tf.Scalar {
    if (labels.length !== inputIds.length || labels.some((row, b) => row.length !== inputIds[b].length)) throw new Error('labels must have the shape of inputIds');
    const { rows, targets } = predictedPositions(labels, this.config.paddedVocabSize);
    if (rows.length === 0) throw new Error('no predicted tokens: every label is -100');
    return tf.tidy(() => {
      const hidden = this.hiddenStates(inputIds, options); // [N, h]
      const logits = this.outputLayer(tf.gather(hidden, tf.tensor1d(rows, 'int32')) as tf.Tensor2D); // [M, V]
      return meanCrossEntropy(logits, targets);
    });
  }

  /** Tensors for the safetensors writer, under THUDM names; each is read from the device when written. */
  weightsToWrite(): TensorToWrite[] {
    const entries: TensorToWrite[] = [...this.params].map(([name, v]) => ({ name, shape: v.shape, data: () => v.dataSync() as Float32Array }));
    for (const [site, linear] of this.linears) {
      const frozen = linear.frozen;
      if (!frozen) continue;
      entries.push({
        name: `${site}.weight`,
        shape: [...frozen.shape],
        data: () => {
          const weight = frozen.dequantize();
          const values = weight.dataSync() as Float32Array;
          weight.dispose();
          return values;
        },
      });
    }
    return entries;
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    for (const l of this.linears.values()) l.frozen?.dispose();
    this.params.clear();
    this.rotaryP.dispose();
  }

  private outputLayer(x: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(x, this.params.get('transformer.output_layer.weight')!, false, true); // [rows, V]
  }

  /** Prefix [P, L·2·g·d] → per layer {key, value}: [B, g, P, d] (THUDM views it as [P, L·2, g, d]). */
  private prefixKeyValues(prefix: tf.Tensor, batch: number): LayerKeyValues[] {
    const { numLayers: L, multiQueryGroupNum: g, kvChannels: d } = this.config;
    const P = prefix.shape[0];
    if (prefix.size !== P * L * 2 * g * d) throw new Error(`prefix shape [${prefix.shape}] is not [P, ${L * 2 * g * d}]`);
    const slots = tf.split(tf.transpose(tf.reshape(prefix, [P, L * 2, g, d]), [1, 2, 0, 3]), L * 2, 0); // each [1, g, P, d]
    const tiled = slots.map((s) => (batch === 1 ? s : tf.tile(s, [batch, 1, 1, 1])) as tf.Tensor4D);
    return Array.from({ length: L }, (_, l) => ({ key: tiled[2 * l], value: tiled[2 * l + 1] }));
  }

  /** Embedding, layers and final norm: [N, h]. Updates the cache when one is given. */
  private hiddenStates(inputIds: Rows, options: ForwardOptions): tf.Tensor2D {
    const { config } = this;
    checkIds(inputIds, config.paddedVocabSize);
    const B = inputIds.length;
    const T = inputIds[0].length;
    const { cache, prefix } = options;
    if (cache && prefix) throw new Error('pass the prefix to createCache, not with a cache');
    if (cache && cache.batchSize !== B) throw new Error(`cache is for batch ${cache.batchSize}, input has ${B} rows`);
    const tokenMask = options.attentionMask ?? inputIds.map((row) => row.map(() => 1));
    if (tokenMask.length !== B || tokenMask.some((r) => r.length !== T)) throw new Error('attentionMask must have the shape of inputIds');
    if (options.positionIds && (options.positionIds.length !== B || options.positionIds.some((r) => r.length !== T))) throw new Error('positionIds must have the shape of inputIds');

    const past = cache ? cache.layers : prefix ? this.prefixKeyValues(prefix, B) : [];
    const pastKeyMask: Rows = cache ? cache.keyMask : prefix ? inputIds.map(() => new Array<number>(prefix.shape[0]).fill(1)) : inputIds.map(() => []);
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
    let x = tf.gather(this.params.get('transformer.embedding.word_embeddings.weight')!, ids) as tf.Tensor2D; // [N, h]
    const newKV: LayerKeyValues[] = [];
    this.layers.forEach((layer, i) => {
      // A scope per layer frees its intermediates as soon as it is done (the gradient tape keeps the
      // ones its backward pass needs), so peak memory is not every layer's intermediates at once.
      const result = tf.tidy(() => layer.forward(x, ctx, past[i] ?? null));
      x = result.out;
      newKV.push(result.kv);
    });
    if (cache) {
      const keyMask = cache.keyMask.map((row, b) => [...row, ...tokenMask[b]]);
      cache.update(newKV, keyMask, nextPositions(positions, tokenMask, start));
    }
    return this.final_layernorm.forward(x);
  }
}
