// What THUDM's two architectures share on TF.js — ChatGLM2/3/GLM-4 (glm.ts) and ChatGLM-6B v1
// (chatglm6b/model.ts): parameters by THUDM name loaded from a checkpoint, linear sites that adapters
// target and QLoRA freezes, forward and loss around an architecture's hidden states, and the tensors an
// export writes. An architecture adds its blocks, its hidden states, its output head and its cache.
import * as tf from '@tensorflow/tfjs';
import type { Rows } from './attention-inputs.ts';
import { checkWeights, expectedTensorShapes, type ModelConfig } from './config.ts';
import type { AdapterSet, FrozenLinearWeight } from './extensions.ts';
import { KvCache, type LayerKeyValues } from './kv-cache.ts';
import type { CausalLanguageModel, ForwardOptions, ForwardOutput } from './language-model.ts';
import { meanCrossEntropy, predictedPositions } from './loss.ts';
import type { WeightSource } from './weights/checkpoint.ts';
import type { TensorToWrite } from './weights/safetensors.ts';

/** What a linear site needs of its forward pass. */
export interface LinearContext {
  adapters?: AdapterSet;
  training: boolean;
}

/** A linear site: y = x·Wᵀ (+ b) + adapter deltas. W may be swapped for a frozen source (QLoRA). */
export class Linear {
  frozen: FrozenLinearWeight | null = null;

  constructor(readonly name: string, public weight: tf.Variable | null, readonly bias: tf.Variable | null) {}

  forward(x: tf.Tensor2D, ctx: LinearContext): tf.Tensor2D {
    let y: tf.Tensor2D = this.frozen ? this.frozen.matmulTransposed(x) : tf.matMul(x, this.weight as tf.Tensor2D, false, true);
    if (this.bias) y = tf.add(y, this.bias);
    const adapter = ctx.adapters?.get(this.name);
    if (adapter) y = tf.add(y, adapter.delta(x, ctx.training));
    return y;
  }
}

/**
 * Every parameter of `config` read from `source`, one tensor at a time, as non-trainable variables in
 * checkpoint order. Every expected tensor must be present with its shape, and nothing else but the
 * buffers the architecture's checkWeights allows.
 */
export function loadParameters(config: ModelConfig, source: WeightSource): Map<string, tf.Variable> {
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
  return params;
}

type LossOptions = Omit<ForwardOptions, 'cache' | 'lastPositionOnly' | 'returnHidden'>;

/** A transformer block of either architecture, with the forward context of its model. */
export interface Block<Ctx> {
  forward(x: tf.Tensor2D, ctx: Ctx, past: LayerKeyValues | null): { out: tf.Tensor2D; kv: LayerKeyValues };
}

/** Where the keys and values of an architecture's attention live: `heads` K/V heads of `headDim` each, per layer. */
export interface KeyValueLayout {
  layers: number;
  heads: number;
  headDim: number;
}

/**
 * A THUDM causal LM. Parameters are tf.Variables keyed by THUDM name, created non-trainable: a trainer
 * marks what trains (`variable.trainable = true`) and passes them to tf.variableGrads.
 */
export abstract class ThudmModel<C extends ModelConfig> implements CausalLanguageModel {
  /** Parameters by THUDM tensor name, in checkpoint order. */
  readonly parameters: ReadonlyMap<string, tf.Variable>;
  private readonly linears = new Map<string, Linear>();
  /** The constant [d, d] matrix that pairs each head dimension with its rotary partner (see the architecture). */
  protected readonly rotaryP: tf.Tensor2D;

  /** `rotaryPairs`: the rotary pair matrix of a head dimension, row-major [d·d]. */
  protected constructor(readonly config: C, protected readonly params: Map<string, tf.Variable>, rotaryPairs: Float32Array, headDim: number) {
    this.parameters = params;
    // kept: the model may be built inside a caller's tidy
    this.rotaryP = tf.keep(tf.tensor2d(rotaryPairs, [headDim, headDim]));
  }

  /** The K/V heads a P-tuning prefix fills (grouped K/V heads for ChatGLM2, every head for ChatGLM-6B). */
  protected abstract readonly keyValueLayout: KeyValueLayout;

  /** Embedding, layers and final norm: [B·T, h]. Updates the cache when one is given. */
  protected abstract hiddenStates(inputIds: Rows, options: ForwardOptions): tf.Tensor2D;

  /** [rows, h] → logits [rows, V]. */
  protected abstract outputLayer(x: tf.Tensor2D): tf.Tensor2D;

  /** An empty cache of this architecture's kind, or one holding `initial` (a prefix), which it then owns. */
  protected newCache(batchSize: number, initial?: { layers: LayerKeyValues[]; keyMask: number[][] }): KvCache {
    return new KvCache(batchSize, initial);
  }

  /**
   * Runs the blocks in turn, each in a scope of its own that frees its intermediates as soon as it is done
   * (the gradient tape keeps the ones its backward pass needs), so peak memory is not every block's
   * intermediates at once. Returns the last output and each block's full keys/values.
   */
  protected runBlocks<Ctx>(blocks: readonly Block<Ctx>[], x: tf.Tensor2D, ctx: Ctx, past: readonly LayerKeyValues[]): { out: tf.Tensor2D; kv: LayerKeyValues[] } {
    const kv: LayerKeyValues[] = [];
    for (const [i, block] of blocks.entries()) {
      const result = tf.tidy(() => block.forward(x, ctx, past[i] ?? null));
      x = result.out;
      kv.push(result.kv);
    }
    return { out: x, kv };
  }

  /**
   * What every pass checks and starts from: the token mask (all ones by default) and the keys/values
   * attended before this pass's tokens (the cache's, or the P-tuning prefix's).
   */
  protected passInputs(inputIds: Rows, options: ForwardOptions, cache: KvCache | undefined): { tokenMask: Rows; past: readonly LayerKeyValues[] } {
    const [B, T] = [inputIds.length, inputIds[0].length];
    const { prefix } = options;
    if (cache && prefix) throw new Error('pass the prefix to createCache, not with a cache');
    if (cache && cache.batchSize !== B) throw new Error(`cache is for batch ${cache.batchSize}, input has ${B} rows`);
    const tokenMask = options.attentionMask ?? inputIds.map((row) => row.map(() => 1));
    if (tokenMask.length !== B || tokenMask.some((r) => r.length !== T)) throw new Error('attentionMask must have the shape of inputIds');
    const past = cache ? cache.layers : prefix ? this.prefixKeyValues(prefix, B) : [];
    return { tokenMask, past };
  }

  /** The key mask of `rows` rows of a P-tuning prefix of `length` slots: every slot attended. */
  protected prefixKeyMask(rows: number, length: number): number[][] {
    return Array.from({ length: rows }, () => new Array<number>(length).fill(1));
  }

  /** The cache's key mask once this pass's tokens are appended to it. */
  protected grownKeyMask(cache: KvCache, tokenMask: Rows): number[][] {
    return cache.keyMask.map((row, b) => [...row, ...tokenMask[b]]);
  }

  /**
   * THUDM's prefix_encoder output [P, layers·2·heads·d] → per layer {key, value}: [B, heads, P, d] (THUDM
   * views it as [P, layers·2, heads, d]: layer l's key is slot 2l, its value 2l+1).
   */
  protected prefixKeyValues(prefix: tf.Tensor, batch: number): LayerKeyValues[] {
    const { layers: L, heads: H, headDim: d } = this.keyValueLayout;
    const P = prefix.shape[0];
    if (prefix.rank !== 2 || prefix.size !== P * L * 2 * H * d) throw new Error(`prefix shape [${prefix.shape}] is not [P, ${L * 2 * H * d}]`);
    const slots = tf.split(tf.transpose(tf.reshape(prefix, [P, L * 2, H, d]), [1, 2, 0, 3]), L * 2, 0); // each [1, H, P, d]
    const tiled = slots.map((s) => (batch === 1 ? s : tf.tile(s, [batch, 1, 1, 1])) as tf.Tensor4D);
    return Array.from({ length: L }, (_, l) => ({ key: tiled[2 * l], value: tiled[2 * l + 1] }));
  }

  /** The linear site of module `site` (its `.weight`, and `.bias` when the checkpoint has one). */
  protected linear(site: string): Linear {
    const l = new Linear(site, this.params.get(`${site}.weight`)!, this.params.get(`${site}.bias`) ?? null);
    this.linears.set(site, l);
    return l;
  }

  /** Validates a token-id batch: rectangular, ids within the embedding. */
  protected checkIds(ids: Rows): void {
    const vocab = this.config.paddedVocabSize;
    if (ids.length === 0 || ids[0].length === 0) throw new Error('inputIds must be a non-empty [batch, seq] array');
    for (const row of ids) {
      if (row.length !== ids[0].length) throw new Error('inputIds rows must have equal length (pad them)');
      for (const id of row) if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new Error(`token id ${id} outside the vocabulary [0, ${vocab})`);
    }
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
  createCache(batchSize: number, prefix?: tf.Tensor): KvCache {
    if (!prefix) return this.newCache(batchSize);
    const layers = tf.tidy(() => this.prefixKeyValues(prefix, batchSize));
    return this.newCache(batchSize, { layers, keyMask: this.prefixKeyMask(batchSize, prefix.shape[0]) });
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
  loss(inputIds: Rows, labels: Rows, options: LossOptions = {}): tf.Scalar {
    return tf.tidy(() => {
      const { logits, targets } = this.targetLogits(inputIds, labels, options);
      if (targets.length === 0) throw new Error('no predicted tokens: every label is -100');
      return meanCrossEntropy(logits, targets);
    });
  }

  /**
   * The logits [M, V] of the M positions that predict a label (logits at t predict labels at t+1, -100
   * ignored), and those labels. Only these rows go through the output layer.
   */
  targetLogits(inputIds: Rows, labels: Rows, options: LossOptions = {}): { logits: tf.Tensor2D; targets: number[] } {
    if (labels.length !== inputIds.length || labels.some((row, b) => row.length !== inputIds[b].length)) throw new Error('labels must have the shape of inputIds');
    const { rows, targets } = predictedPositions(labels, this.config.paddedVocabSize);
    const logits = tf.tidy(() => {
      const hidden = this.hiddenStates(inputIds, options); // [N, h]
      return this.outputLayer(tf.gather(hidden, tf.tensor1d(rows, 'int32')) as tf.Tensor2D); // [M, V]
    });
    return { logits, targets };
  }

  /**
   * Tensors for the safetensors writer, under THUDM names (frozen sites dequantised); each is read from
   * the device when written.
   */
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
}
