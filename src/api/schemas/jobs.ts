import { z } from 'zod';
import { hyperparametersSchema, tuningSchema } from '../../services/jobs/spec.ts';
import { listOf } from './common.ts';

const Hyperparameters = hyperparametersSchema.meta({ id: 'FineTuningHyperparameters' });

export const Metadata = z
  .record(z.string().max(64), z.string().max(512))
  .refine((m) => Object.keys(m).length <= 16, 'at most 16 metadata keys')
  .describe('Up to 16 key-value pairs (keys ≤ 64, values ≤ 512 characters).');

export const CreateJobBody = z
  .strictObject({
    model: z.string().min(1).max(300).describe('A base model id (see /v1/models) or a fine-tuned model of yours to continue from.'),
    training_file: z.string().min(1).max(200),
    validation_file: z.string().min(1).max(200).nullish(),
    hyperparameters: Hyperparameters.optional().describe('Deprecated by OpenAI in favour of method.supervised.hyperparameters; both are accepted.'),
    method: z
      .strictObject({
        type: z.enum(['supervised', 'dpo', 'reinforcement']),
        supervised: z.strictObject({ hyperparameters: Hyperparameters.optional() }).nullish(),
        dpo: z.unknown().optional(),
        reinforcement: z.unknown().optional(),
      })
      .nullish(),
    suffix: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9_.-]+$/, 'use letters, digits, "-", "_" and "."')
      .nullish(),
    seed: z.number().int().min(0).max(2147483647).nullish(),
    metadata: Metadata.nullish(),
    integrations: z.array(z.unknown()).nullish(),
    tuning: tuningSchema
      .optional()
      .describe('glmtune: the method (full, freeze, lora, qlora, ptuning_v2) and its settings, and every training control beyond OpenAI’s three hyperparameters.'),
  })
  .meta({ id: 'CreateFineTuningJobRequest' });

const ResolvedHyperparameters = z.object({
  n_epochs: z.number().int(),
  batch_size: z.number().int(),
  learning_rate_multiplier: z.number(),
});

export const JobObject = z
  .object({
    id: z.string(),
    object: z.literal('fine_tuning.job'),
    created_at: z.number().int(),
    error: z.object({ code: z.string(), message: z.string(), param: z.string().nullable() }).nullable(),
    fine_tuned_model: z.string().nullable(),
    finished_at: z.number().int().nullable(),
    hyperparameters: ResolvedHyperparameters,
    method: z.object({ type: z.literal('supervised'), supervised: z.object({ hyperparameters: ResolvedHyperparameters }) }),
    model: z.string(),
    organization_id: z.string(),
    result_files: z.array(z.string()),
    seed: z.number().int(),
    status: z.enum(['validating_files', 'queued', 'running', 'paused', 'succeeded', 'failed', 'cancelled']),
    trained_tokens: z.number().int().nullable(),
    training_file: z.string(),
    validation_file: z.string().nullable(),
    estimated_finish: z.number().int().nullable(),
    integrations: z.array(z.unknown()).nullable(),
    metadata: z.record(z.string(), z.string()).nullable(),
    // glmtune's fields, beside OpenAI's:
    suffix: z.string().nullable().describe('The suffix given at creation, part of the fine-tuned model id.'),
    base_model: z.string().describe('The base model the job trains on (equal to model unless model is a fine-tuned model).'),
    tuning: z.record(z.string(), z.unknown()).describe('The complete training configuration the job runs with, defaults filled in.'),
    progress: z.object({ step: z.number().int(), total_steps: z.number().int().nullable() }),
  })
  .meta({ id: 'FineTuningJob' });

export const JobList = z.object({ object: z.literal('list'), data: z.array(JobObject), has_more: z.boolean() }).meta({ id: 'FineTuningJobList' });

export const JobIdParams = z.object({ fine_tuning_job_id: z.string().min(1).max(200) });

export const ListJobsQuery = z.object({
  after: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  metadata: z.record(z.string(), z.string()).optional().describe('Only jobs whose metadata has all these pairs: metadata[key]=value.'),
});

export const EventObject = z
  .object({
    id: z.string(),
    object: z.literal('fine_tuning.job.event'),
    created_at: z.number().int(),
    level: z.enum(['info', 'warn', 'error']),
    message: z.string(),
    type: z.enum(['message', 'metrics']),
    data: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'FineTuningJobEvent' });

export const EventList = z.object({ object: z.literal('list'), data: z.array(EventObject), has_more: z.boolean() }).meta({ id: 'FineTuningJobEventList' });

export const ListEventsQuery = z.object({
  after: z.string().max(200).optional().describe('Id of the last event seen: the page holds older events.'),
  limit: z.coerce.number().int().min(1).max(1000).default(20),
});

export const CheckpointObject = z
  .object({
    id: z.string(),
    object: z.literal('fine_tuning.job.checkpoint'),
    created_at: z.number().int(),
    fine_tuned_model_checkpoint: z.string(),
    fine_tuning_job_id: z.string(),
    step_number: z.number().int(),
    metrics: z.record(z.string(), z.number().nullable()),
  })
  .meta({ id: 'FineTuningJobCheckpoint' });

export const CheckpointList = listOf(CheckpointObject, 'FineTuningJobCheckpointList');

export const ListCheckpointsQuery = z.object({
  after: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(10),
});

export const MetricsSeries = z
  .object({
    object: z.literal('fine_tuning.job.metrics'),
    job_id: z.string(),
    total_steps: z.number().int().nullable(),
    train: z.array(z.object({ step: z.number().int(), loss: z.number(), accuracy: z.number().nullable(), learning_rate: z.number().nullable(), grad_norm: z.number().nullable(), tokens_per_second: z.number().nullable() })),
    validation: z.array(z.object({ step: z.number().int(), loss: z.number(), accuracy: z.number().nullable(), perplexity: z.number().nullable() })),
    generation: z.array(z.object({ step: z.number().int() }).catchall(z.number().nullable())),
  })
  .meta({ id: 'FineTuningJobMetrics' });

export const EstimateObject = z
  .object({
    object: z.literal('fine_tuning.estimate'),
    model: z.string(),
    method: z.string(),
    hyperparameters: z.object({ n_epochs: z.number().int(), batch_size: z.number().int(), learning_rate_multiplier: z.number() }),
    examples: z.number().int(),
    validation_examples: z.number().int(),
    tokens_per_epoch: z.number().int().describe('Tokens of the training set once, after truncation to max_seq_len.'),
    target_tokens_per_epoch: z.number().int(),
    truncated_examples: z.number().int(),
    dropped_examples: z.number().int(),
    steps_per_epoch: z.number().int(),
    total_steps: z.number().int(),
    trained_tokens: z.number().int(),
    estimated_seconds: z.number().int(),
    tokens_per_second: z.number(),
    throughput_source: z.enum(['measured', 'assumed']).describe('measured: recent jobs of this model and method on this server; assumed: a nominal rate of the backend.'),
    memory: z.object({
      parameters: z.number().int(),
      trainable_parameters: z.number().int(),
      frozen_weight_bytes: z.number().int(),
      trainable_bytes: z.number().int(),
      gradient_bytes: z.number().int(),
      optimizer_bytes: z.number().int(),
      activation_bytes: z.number().int(),
      total_bytes: z.number().int(),
      available_bytes: z.number().int(),
      limit: z.enum(['wasm_heap', 'system_memory']),
      fits: z.boolean(),
    }),
  })
  .meta({ id: 'FineTuningEstimate' });
