// What a fine-tuning method is to the training loop, the exporter and the CLI: which variables train,
// which of them take weight decay, what one forward pass adds to the model (LoRA adapters, a P-tuning
// prefix), and how the result is written. One object per job, made by createMethod (./create.ts) from a
// validated MethodConfig (./config.ts). Methods type against CausalLanguageModel, never one architecture.
import type * as tf from '@tensorflow/tfjs';
import type { ForwardOptions } from '../model/language-model.ts';

export type MethodName = 'full' | 'freeze' | 'lora' | 'qlora' | 'ptuning_v2';

/** What a method adds to one model.forward / model.loss call; spread it into the call's options. */
export type MethodForwardOptions = Pick<ForwardOptions, 'adapters' | 'prefix' | 'training' | 'dropoutSeed'>;

export interface ExportOptions {
  /** LoRA/QLoRA: write the base with the adapter merged in, as an HF-layout folder, instead of the adapter. */
  merged?: boolean;
  /** The base model folder: tokenizer files are copied from it wherever an HF-layout folder is written. */
  baseDir?: string;
  /** adapter_config.json's base_model_name_or_path (default: the base folder's name). */
  baseModel?: string;
}

export interface TuningMethod {
  readonly name: MethodName;
  /**
   * What the optimizer updates, by stable checkpoint name: THUDM names for base parameters
   * (`transformer.encoder.layers.0.input_layernorm.weight`), PEFT keys for LoRA
   * (`base_model.model.transformer.encoder.layers.0.self_attention.query_key_value.lora_A.weight`),
   * `transformer.prefix_encoder.*` for P-tuning. These variables are marked trainable; nothing else is.
   */
  trainable(): ReadonlyMap<string, tf.Variable>;
  /** Whether weight decay applies to a trainable tensor: not to norms and biases, as HF's Trainer. */
  decays(name: string): boolean;
  /**
   * Options for one model.forward / model.loss pass: `training` (model and method dropout), the pass's
   * dropout seed, LoRA adapters, the P-tuning prefix (computed from the prefix encoder, with prefix
   * dropout in training). Creates tensors: call it inside the caller's tidy / gradient function.
   * `dropoutSeed` makes the pass's dropout masks repeatable (random when omitted).
   */
  forwardOptions(training: boolean, dropoutSeed?: number): MethodForwardOptions;
  /**
   * Writes the method's artifact folder: a PEFT adapter (adapter_config.json + adapter_model.safetensors)
   * for LoRA/QLoRA; prefix_encoder.safetensors + config.json (with pre_seq_len) for P-tuning; an HF-layout
   * model folder (config.json, model.safetensors, tokenizer files) for full/freeze and for merged LoRA.
   */
  export(dir: string, options?: ExportOptions): Promise<void>;
  /** Resident bytes of frozen state (QLoRA: its packed base) and of trainable state (float32). */
  memory(): { frozenBytes: number; trainableBytes: number };
  /** Frees the method's own variables and marks base parameters non-trainable again. */
  dispose(): void;
}

export interface CreateMethodOptions {
  /** Seeds the initialisation of new parameters (LoRA's lora_A, the prefix encoder). */
  seed: number;
  /**
   * Continue training an earlier result of the same method: a folder written by `export` (a PEFT
   * adapter for LoRA/QLoRA, a prefix encoder for P-tuning). Its shape settings must equal the config's.
   * Full/freeze continue from merged weights by loading that folder as the base model instead.
   */
  initFrom?: string;
}
