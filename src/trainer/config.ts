// Every setting of one training run, validated once (the API validates a job's settings with this
// schema; the trainer parses them again where it starts). Names and defaults follow Hugging Face's
// TrainingArguments where it has the setting, so numbers from its docs and recipes carry over.
import { z } from 'zod';
import { methodConfigSchema } from '../methods/config.ts';

const positiveInt = z.number().int().positive();
const fraction = z.number().min(0).lt(1);

export const FLOAT32_ONLY_MESSAGE =
  'only float32 compute is supported: TF.js has no half-precision tensor types, so fp16/bf16 training is not available (bf16 weight files are read and trained in float32)';

export const distillationConfigSchema = z.strictObject({
  /** The teacher's model id; the caller stages it and passes its folder to the trainer. */
  teacher: z.string().min(1),
  /** Softens both distributions: KL(softmax(t/T) ‖ softmax(s/T)), scaled by T² (Hinton et al.). */
  temperature: z.number().positive().default(2),
  /** Weight of the KL term; the label cross-entropy gets 1 − alpha. */
  alpha: z.number().min(0).max(1).default(0.5),
});

export const trainingConfigSchema = z.strictObject({
  method: methodConfigSchema,
  /** Seeds data order, validation split, dropout and new parameters: equal seeds give equal runs. */
  seed: z.number().int().min(0).max(2 ** 32 - 1).default(42),
  epochs: positiveInt.default(3),
  /** Stops after this many optimizer steps (the data cycles through further epochs if needed); overrides epochs. */
  max_steps: positiveInt.optional(),
  /** Examples per forward/backward pass (a micro-batch). */
  batch_size: positiveInt.default(4),
  /** Micro-batches per optimizer step: the effective batch is batch_size × this. */
  gradient_accumulation_steps: positiveInt.default(1),
  learning_rate: z.number().positive().default(5e-5),
  weight_decay: z.number().min(0).default(0),
  adam_beta1: fraction.default(0.9),
  adam_beta2: fraction.default(0.999),
  adam_epsilon: z.number().positive().default(1e-8),
  /** Global gradient-norm clipping; 0 turns it off. */
  max_grad_norm: z.number().min(0).default(1),
  lr_scheduler_type: z.enum(['linear', 'cosine', 'constant']).default('linear'),
  /** Warm-up steps; when 0, warmup_ratio × total steps (rounded up) is used. */
  warmup_steps: z.number().int().min(0).default(0),
  warmup_ratio: fraction.default(0),
  /** Longest example in tokens (default and upper bound: the model's context length); see data/truncate.ts. */
  max_seq_len: positiveInt.optional(),
  /** Train on the prompt tokens too, not only on the assistant replies. */
  train_on_inputs: z.boolean().default(false),
  /** Fraction of the training examples held out for validation when no validation file is given. */
  validation_split: fraction.default(0),
  /** Evaluate every this many steps (and always at each epoch end). */
  eval_steps: positiveInt.optional(),
  /** Validation examples to generate replies for (ROUGE/BLEU); 0 turns generation metrics off. */
  eval_samples: z.number().int().min(0).default(0),
  eval_max_new_tokens: positiveInt.default(64),
  /** Also score the base model (no method applied) on the same samples, once. */
  eval_base_model: z.boolean().default(false),
  /** Save a checkpoint every this many steps (and always at the end). */
  save_steps: positiveInt.optional(),
  /** Stop after this many evaluations without the validation loss improving by more than the threshold. */
  early_stopping_patience: positiveInt.optional(),
  early_stopping_threshold: z.number().min(0).default(0),
  /** The weights of the best evaluation (lowest validation loss) are the result. */
  load_best_at_end: z.boolean().default(true),
  /** LoRA/QLoRA: export the base with the adapter merged in instead of the adapter. */
  export_merged: z.boolean().default(false),
  compute_dtype: z.string().default('float32').refine((v) => v === 'float32', { message: FLOAT32_ONLY_MESSAGE }),
  distillation: distillationConfigSchema.optional(),
});

/** A parsed config, defaults filled in. */
export type TrainingConfig = z.infer<typeof trainingConfigSchema>;
/** What a caller writes before parsing. */
export type TrainingConfigInput = z.input<typeof trainingConfigSchema>;
export type DistillationConfig = z.infer<typeof distillationConfigSchema>;

/** Parses settings; throws a ZodError whose issues name each field (the API answers 400 with them). */
export function parseTrainingConfig(input: unknown): TrainingConfig {
  return trainingConfigSchema.parse(input);
}
