// What THUDM's two architectures share on TF.js — ChatGLM2/3/GLM-4 (glm.ts) and ChatGLM-6B v1
// (chatglm6b/model.ts): parameters by THUDM name loaded from a checkpoint, linear sites that adapters
// target and QLoRA freezes, forward and loss around an architecture's hidden states, and the tensors an
// export writes. An architecture adds its blocks, its hidden states, its output head and its cache.
import * as tf from '@tensorflow/tfjs';
import type { Rows } from './attention-inputs.ts';
import { checkWeights, expectedTensorShapes, type ModelConfig } from './config.ts';
import type { AdapterSet, FrozenLinearWeight } from './extensions.ts';
import type { KvCache } from './kv-cache.ts';
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

/**
 * A THUDM causal LM. Parameters are tf.Variables keyed by THUDM name, created non-trainable: a trainer
 * marks what trains (`variable.trainable = true`) and passes them to tf.variableGrads.
 */
export abstract class ThudmModel<C extends ModelConfig> implements CausalLanguageModel {
  /** Parameters by THUDM tensor name, in checkpoint order. */
  readonly parameters: ReadonlyMap<string, tf.Variable>;
  private readonly linears = new Map<string, Linear>();

  protected constructor(readonly config: C, protected readonly params: Map<string, tf.Variable>) {
    this.parameters = params;
  }

  abstract createCache(batchSize: number, prefix?: tf.Tensor): KvCache;

  /** Embedding, layers and final norm: [B·T, h]. Updates the cache when one is given. */
  protected abstract hiddenStates(inputIds: Rows, options: ForwardOptions): tf.Tensor2D;

  /** [rows, h] → logits [rows, V]. */
  protected abstract outputLayer(x: tf.Tensor2D): tf.Tensor2D;

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
  }
}
