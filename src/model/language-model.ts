// What the fine-tuning methods, the trainer and generation need from a model, whatever its
// architecture (ChatGLM2/3/GLM-4: GlmModel in glm.ts; ChatGLM-6B v1: ChatGlm6bModel in chatglm6b/model.ts;
// loadModel picks by config). Code outside src/model/ types against this, not against one architecture's
// class. ChatGLM-6B computes its 2D positions from the ids and refuses ForwardOptions.positionIds.
import type * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './config.ts';
import type { FrozenLinearWeight } from './extensions.ts';
import type { ForwardOptions, ForwardOutput } from './glm.ts';
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
  weightsToWrite(): TensorToWrite[];
  dispose(): void;
}
