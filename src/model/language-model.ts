// What the fine-tuning methods, the trainer and generation need from a model, whatever its
// architecture (ChatGLM2/3/GLM-4: GlmModel in glm.ts; ChatGLM-6B v1: ChatGlm6bModel in chatglm6b/model.ts;
// loadModel picks by config). Code outside src/model/ types against this, not against one architecture's
// class. ChatGLM-6B computes its 2D positions from the ids and refuses ForwardOptions.positionIds.
import type * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './config.ts';
import type { AdapterSet, FrozenLinearWeight } from './extensions.ts';
import type { KvCache } from './kv-cache.ts';
import type { Rows } from './attention-inputs.ts';
import type { TensorToWrite } from './weights/safetensors.ts';

export interface CausalLanguageModel {
  readonly config: ModelConfig;
  /** Parameters by checkpoint (THUDM) name; non-trainable until a trainer marks them. */
  readonly parameters: ReadonlyMap<string, tf.Variable>;
  /** Module names of the linear sites adapters can target. */
  linearSites(): string[];
  replaceLinearWeight(site: string, frozen: FrozenLinearWeight): void;
  createCache(batchSize: number, prefix?: tf.Tensor): KvCache;
  forward(inputIds: Rows, options?: ForwardOptions): ForwardOutput;
  loss(inputIds: Rows, labels: Rows, options?: Omit<ForwardOptions, 'cache' | 'lastPositionOnly' | 'returnHidden'>): tf.Scalar;
  /** The logits [M, V] of the positions that predict a label, and those labels (the loss's inputs). */
  targetLogits(inputIds: Rows, labels: Rows, options?: Omit<ForwardOptions, 'cache' | 'lastPositionOnly' | 'returnHidden'>): { logits: tf.Tensor2D; targets: number[] };
  weightsToWrite(): TensorToWrite[];
  dispose(): void;
}

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
