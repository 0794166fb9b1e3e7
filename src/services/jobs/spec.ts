// From a create request to the complete training configuration a job runs with: OpenAI's
// hyperparameters ("auto" resolved from the dataset), glmtune's `tuning` extension, the model's limits.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { MethodName } from '../../methods/types.ts';
import type { ModelConfig } from '../../model/config.ts';
import { trainingConfigSchema, type TrainingConfig } from '../../trainer/config.ts';
import { methodConfigSchema } from '../../methods/config.ts';
import { type ApiError, errors, formatPath } from '../../errors.ts';

/** The learning rate a method trains with at learning_rate_multiplier 1 (the methods' usual defaults). */
export const BASE_LEARNING_RATES: Record<MethodName, number> = {
  full: 1e-5,
  freeze: 1e-4,
  lora: 2e-4,
  qlora: 2e-4,
  ptuning_v2: 2e-2, // THUDM's ptuning/train.sh
};

const auto = z.literal('auto');
export const hyperparametersSchema = z.strictObject({
  n_epochs: z.union([auto, z.number().int().min(1).max(50)]).optional(),
  batch_size: z.union([auto, z.number().int().min(1).max(256)]).optional(),
  learning_rate_multiplier: z.union([auto, z.number().positive().max(100)]).optional(),
});
export type HyperparametersInput = z.infer<typeof hyperparametersSchema>;

export interface ResolvedHyperparameters {
  n_epochs: number;
  batch_size: number;
  learning_rate_multiplier: number;
}

/**
 * glmtune's extension of a create request: every training setting except the three OpenAI has
 * (epochs, batch size, seed come from hyperparameters and seed). `learning_rate`, when given, replaces
 * base rate × multiplier.
 */
export const tuningSchema = trainingConfigSchema
  .omit({ epochs: true, batch_size: true, seed: true, learning_rate: true, method: true })
  .extend({
    method: methodConfigSchema.prefault({ type: 'lora' }),
    learning_rate: z.number().positive().optional(),
  });
export type TuningInput = z.input<typeof tuningSchema>;
export type Tuning = z.infer<typeof tuningSchema>;

/**
 * "auto" as a function of the dataset: small datasets get more epochs (about 200 examples seen in
 * all, 3–25 epochs), batches grow slowly with the dataset (0.2 %, at most 8 on CPU), multiplier 1.
 */
export function resolveHyperparameters(input: HyperparametersInput, examples: number): ResolvedHyperparameters {
  const n = Math.max(1, examples);
  return {
    n_epochs: input.n_epochs === 'auto' || input.n_epochs === undefined ? Math.min(25, Math.max(3, Math.ceil(200 / n))) : input.n_epochs,
    batch_size: input.batch_size === 'auto' || input.batch_size === undefined ? Math.min(8, Math.max(1, Math.ceil(n * 0.002))) : input.batch_size,
    learning_rate_multiplier:
      input.learning_rate_multiplier === 'auto' || input.learning_rate_multiplier === undefined ? 1 : input.learning_rate_multiplier,
  };
}

/** The trainer's configuration of a job; a setting the trainer refuses is a 400 naming it under `tuning`. */
export function buildTrainingConfig(tuning: Tuning, hp: ResolvedHyperparameters, seed: number): TrainingConfig {
  const { learning_rate: explicitRate, ...rest } = tuning;
  const parsed = trainingConfigSchema.safeParse({
    ...rest,
    epochs: hp.n_epochs,
    batch_size: hp.batch_size,
    seed,
    learning_rate: explicitRate ?? BASE_LEARNING_RATES[tuning.method.type] * hp.learning_rate_multiplier,
  });
  if (!parsed.success) throw invalidTuning(parsed.error);
  return parsed.data;
}

/** The 400 for a `tuning` setting that does not parse, naming its first problem's field. */
export function invalidTuning(error: z.ZodError): ApiError {
  const issue = error.issues[0];
  const path = formatPath(['tuning', ...issue.path]);
  return errors.invalid(`Invalid field '${path}': ${issue.message}`, path);
}

/** Settings that parse but do not fit this model. */
export function checkFitsModel(training: TrainingConfig, config: ModelConfig, param = 'tuning'): void {
  const fail = (field: string, message: string): never => {
    throw errors.invalid(message, `${param}.${field}`);
  };
  if (training.max_seq_len !== undefined && training.max_seq_len > config.seqLength) {
    fail('max_seq_len', `max_seq_len ${training.max_seq_len} exceeds the model's context length of ${config.seqLength} tokens.`);
  }
  const method = training.method;
  if (method.type === 'freeze' && method.layers > config.numLayers) {
    fail('method.layers', `The model has ${config.numLayers} layers; cannot train the last ${method.layers}.`);
  }
  if (method.type === 'ptuning_v2' && method.pre_seq_len + (training.max_seq_len ?? 0) > config.seqLength) {
    fail('method.pre_seq_len', `pre_seq_len ${method.pre_seq_len} plus max_seq_len exceeds the model's context length of ${config.seqLength}.`);
  }
}

/** Canonical JSON (sorted keys) hashed: equal request bodies give equal hashes. */
export function requestHash(body: unknown): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canonical) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])])) : v;
  return createHash('sha256').update(JSON.stringify(canonical(body))).digest('hex');
}
