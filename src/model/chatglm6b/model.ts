// THUDM's ChatGLM-6B (v1) ChatGLMForConditionalGeneration on TF.js, classes in the order data flows:
// LayerNorm, Linear, SelfAttention, GLU (the MLP), GLMBlock, ChatGlm6bModel. Module and parameter names
// are THUDM's (`transformer.layers.N.attention.query_key_value`), so this file reads side by side with
// the v1 modeling_chatglm.py. Shapes: B batch, T new tokens, N = B·T, h hidden, H heads, d = h/H,
// K keys attended (prefix + cache + new), I inner (MLP) width, V vocabulary.
// Performance recipes as in ../glm.ts: rotary as one constant matmul, the mask and rotary tables built
// once per forward (./attention-inputs.ts), 2D [N, h] between blocks, only ops with gradients.
import * as tf from '@tensorflow/tfjs';
import type { Rows } from '../attention-inputs.ts';
import { checkWeights, expectedTensorShapes, type ModelConfig } from '../config.ts';
import type { AdapterSet, FrozenLinearWeight } from '../extensions.ts';
import type { ForwardOptions, ForwardOutput } from '../glm.ts';
import type { LayerKeyValues } from '../kv-cache.ts';
import type { CausalLanguageModel } from '../language-model.ts';
import { meanCrossEntropy, predictedPositions } from '../loss.ts';
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
interface ForwardContext {
  batch: number;
  seq: number;
  adapters?: AdapterSet;
  training: boolean;
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

/** A linear site: y = x·Wᵀ + b + adapter deltas. W may be swapped for a frozen source (QLoRA). */
class Linear {
  frozen: FrozenLinearWeight | null = null;

  constructor(readonly name: string, public weight: tf.Variable | null, readonly bias: tf.Variable) {}

  forward(x: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    const product: tf.Tensor2D = this.frozen ? this.frozen.matmulTransposed(x) : tf.matMul(x, this.weight as tf.Tensor2D, false, true);
    const y = tf.add(product, this.bias) as tf.Tensor2D;
    const adapter = ctx.adapters?.get(this.name);
    return adapter ? tf.add(y, adapter.delta(x, ctx.training)) : y;
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

/** Validates a token-id batch: rectangular, ids within the embedding. */
function checkIds(ids: Rows, vocab: number): void {
  if (ids.length === 0 || ids[0].length === 0) throw new Error('inputIds must be a non-empty [batch, seq] array');
  for (const row of ids) {
    if (row.length !== ids[0].length) throw new Error('inputIds rows must have equal length (pad them)');
    for (const id of row) if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new Error(`token id ${id} outside the vocabulary [0, ${vocab})`);
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
export class ChatGlm6bModel implements CausalLanguageModel {
  /** Parameters by THUDM tensor name, in checkpoint order (embedding, layers, final norm). */
  readonly parameters: ReadonlyMap<string, tf.Variable>;
  private readonly params: Map<string, tf.Variable>;
  private readonly layers: GLMBlock[];
  private readonly linears: Map<string, Linear>;
  private readonly final_layernorm: LayerNorm;
  private readonly word_embeddings: tf.Variable;
  private readonly rotaryP: tf.Tensor2D;

  private constructor(readonly config: ChatGlm6bConfig, params: Map<string, tf.Variable>) {
    this.params = params;
    this.parameters = params;
    const d = config.headDim;
    // kept: the model may be built inside a caller's tidy
    this.rotaryP = tf.keep(tf.tensor2d(rotaryHalfPairMatrix(d), [d, d]));
    this.linears = new Map();
    const linear = (site: string): Linear => {
      const l = new Linear(site, params.get(`${site}.weight`)!, params.get(`${site}.bias`)!);
      this.linears.set(site, l);
      return l;
    };
    const norm = (name: string): LayerNorm => new LayerNorm(params.get(`${name}.weight`)!, params.get(`${name}.bias`)!, config.layernormEpsilon);
    this.layers = Array.from({ length: config.numLayers }, (_, i) => {
      const p = `transformer.layers.${i}`;
      const attention = new SelfAttention(linear(`${p}.attention.query_key_value`), linear(`${p}.attention.dense`), config.numAttentionHeads, d, this.rotaryP);
      const mlp = new GLU(linear(`${p}.mlp.dense_h_to_4h`), linear(`${p}.mlp.dense_4h_to_h`));
      return new GLMBlock(norm(`${p}.input_layernorm`), attention, norm(`${p}.post_attention_layernorm`), mlp);
    });
    this.final_layernorm = norm('transformer.final_layernorm');
    this.word_embeddings = params.get('transformer.word_embeddings.weight')!;
  }

  /**
   * Builds the model from named tensors, one at a time. Every parameter must be present with its shape;
   * `lm_head.weight` and the rotary inv_freq buffers may be (THUDM's checkpoints carry them) and are
   * not read; nothing else may be.
   */
  static fromWeights(config: ModelConfig, source: WeightSource): ChatGlm6bModel {
    if (config.architecture !== 'chatglm6b') throw new Error(`ChatGlm6bModel is the ChatGLM-6B (v1) architecture, not ${config.architecture} (loadModel picks the class)`);
    checkWeights(config, source);
    const params = new Map<string, tf.Variable>();
    try {
      for (const [name, shape] of expectedTensorShapes(config)) {
        const values = tf.tensor(source.read(name), shape, 'float32');
        params.set(name, tf.variable(values, false));
        values.dispose();
      }
    } catch (err) {
      for (const v of params.values()) v.dispose();
      throw err;
    }
    return new ChatGlm6bModel(config, params);
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
    if (frozen.shape.length !== current.length || frozen.shape.some((n, i) => n !== current[i])) {
      throw new Error(`${site}: frozen weight shape [${frozen.shape}] differs from [${current}]`);
    }
    linear.frozen?.dispose();
    linear.weight?.dispose();
    linear.weight = null;
    linear.frozen = frozen;
    this.params.delete(`${site}.weight`);
  }

  /** A cache for incremental decoding of `batchSize` rows, holding the P-tuning prefix when given. */
  createCache(batchSize: number, prefix?: tf.Tensor): ChatGlm6bCache {
    if (!prefix) return new ChatGlm6bCache(batchSize);
    const layers = tf.tidy(() => this.prefixKeyValues(prefix, batchSize));
    const keyMask = Array.from({ length: batchSize }, () => new Array<number>(prefix.shape[0]).fill(1));
    return new ChatGlm6bCache(batchSize, { layers, keyMask });
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
   * Causal-LM loss (../loss.ts): logits at t predict labels at t+1, -100 ignored, mean over the
   * predicted tokens of the batch. Only predicted rows go through the output head.
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

  /**
   * Tensors for the safetensors writer, under THUDM names; each is read from the device when written.
   * `lm_head.weight` is written too (the word embeddings' values), as THUDM's checkpoints carry it.
   */
  weightsToWrite(): TensorToWrite[] {
    const read = (v: tf.Variable) => () => v.dataSync() as Float32Array;
    const entries: TensorToWrite[] = [...this.params].map(([name, v]) => ({ name, shape: v.shape, data: read(v) }));
    entries.push({ name: TIED_LM_HEAD, shape: this.word_embeddings.shape, data: read(this.word_embeddings) });
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

  /** The tied output head: x · word_embeddingsᵀ, no bias. */
  private outputLayer(x: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(x, this.word_embeddings as tf.Tensor2D, false, true); // [rows, V]
  }

  /** Prefix [P, L·2·h] → per layer {key, value}: [B, H, P, d] (THUDM views it as [P, L·2, H, d]). */
  private prefixKeyValues(prefix: tf.Tensor, batch: number): LayerKeyValues[] {
    const { numLayers: L, numAttentionHeads: H, headDim: d } = this.config;
    const P = prefix.shape[0];
    if (prefix.rank !== 2 || prefix.size !== P * L * 2 * H * d) throw new Error(`prefix shape [${prefix.shape}] is not [P, ${L * 2 * H * d}]`);
    const slots = tf.split(tf.transpose(tf.reshape(prefix, [P, L * 2, H, d]), [1, 2, 0, 3]), L * 2, 0); // each [1, H, P, d]
    const tiled = slots.map((s) => (batch === 1 ? s : tf.tile(s, [batch, 1, 1, 1])) as tf.Tensor4D);
    return Array.from({ length: L }, (_, l) => ({ key: tiled[2 * l], value: tiled[2 * l + 1] }));
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

  /** Embedding, layers and final norm: [N, h]. Updates the cache when one is given. */
  private hiddenStates(inputIds: Rows, options: ForwardOptions): tf.Tensor2D {
    const { config } = this;
    checkIds(inputIds, config.paddedVocabSize);
    const B = inputIds.length;
    const T = inputIds[0].length;
    const { prefix } = options;
    if (options.positionIds) throw new Error('ChatGLM-6B computes its 2D position ids from [gMASK]/<sop> in the ids: positionIds is not accepted');
    if (options.cache && !(options.cache instanceof ChatGlm6bCache)) throw new Error('a ChatGLM-6B forward needs a cache made by its createCache');
    const cache = options.cache as ChatGlm6bCache | undefined;
    if (cache && prefix) throw new Error('pass the prefix to createCache, not with a cache');
    if (cache && cache.batchSize !== B) throw new Error(`cache is for batch ${cache.batchSize}, input has ${B} rows`);
    const tokenMask = options.attentionMask ?? inputIds.map((row) => row.map(() => 1));
    if (tokenMask.length !== B || tokenMask.some((r) => r.length !== T)) throw new Error('attentionMask must have the shape of inputIds');

    const past = cache ? cache.layers : prefix ? this.prefixKeyValues(prefix, B) : [];
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

    let x = tf.gather(this.word_embeddings, tf.tensor1d(inputIds.flat(), 'int32')) as tf.Tensor2D; // [N, h]
    const newKV: LayerKeyValues[] = [];
    this.layers.forEach((layer, i) => {
      // A scope per layer frees its intermediates as soon as it is done (the gradient tape keeps the
      // ones its backward pass needs).
      const result = tf.tidy(() => layer.forward(x, ctx, past[i] ?? null));
      x = result.out;
      newKV.push(result.kv);
    });
    if (cache) {
      const keyMask = cache.keyMask.map((row, b) => [...row, ...tokenMask[b]]);
      const nextBlocks = inputs.positions.map((rows) => rows[1][T - 1] + 1);
      cache.updateWithPositions(newKV, keyMask, inputs.maskPositions, nextBlocks);
    }
    return this.final_layernorm.forward(x);
  }
}
