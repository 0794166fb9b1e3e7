import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt } from './columns.ts';
import { organizations } from './organizations.ts';

export type JobStatus = 'validating_files' | 'queued' | 'running' | 'paused' | 'succeeded' | 'failed' | 'cancelled';

export interface JobError {
  code: string;
  message: string;
  param: string | null;
}

const timestamptz = () => timestamp({ withTimezone: true, mode: 'date' });

/**
 * Fine-tuning jobs, which are also the durable queue: a worker claims a queued row by setting
 * locked_by/locked_until in one statement, renews the lease by heartbeat, and a reaper sends rows whose
 * lease expired back to the queue. Every transition is one UPDATE guarded by the expected status.
 */
export const jobs = pgTable(
  'jobs',
  {
    id: text().primaryKey(), // ftjob-…
    organizationId: text().notNull().references(() => organizations.id, { onDelete: 'cascade' }),
    /** The base model id, or a fine-tuned model id to continue from. */
    model: text().notNull(),
    /** The base model that `model` resolves to (equal to model for a base model). */
    baseModel: text().notNull(),
    trainingFile: text().notNull(),
    validationFile: text(),
    status: text().$type<JobStatus>().notNull(),
    /** OpenAI's hyperparameters with "auto" resolved: { n_epochs, batch_size, learning_rate_multiplier }. */
    hyperparameters: jsonb().$type<Record<string, unknown>>().notNull(),
    /** OpenAI's method object as resolved ({ type: "supervised", supervised: { hyperparameters } }). */
    method: jsonb().$type<Record<string, unknown>>().notNull(),
    /** glmtune's extension: the complete training configuration the trainer runs with. */
    training: jsonb().$type<Record<string, unknown>>().notNull(),
    suffix: text(),
    seed: integer().notNull(),
    metadata: jsonb().$type<Record<string, string>>(),
    fineTunedModel: text(),
    trainedTokens: bigint({ mode: 'number' }),
    error: jsonb().$type<JobError>(),
    resultFiles: jsonb().$type<string[]>().notNull().default(sql`'[]'::jsonb`),
    estimatedFinish: timestamptz(),
    /** Progress, kept up to date while running. */
    step: integer().notNull().default(0),
    totalSteps: integer(),
    createdAt: createdAt(),
    startedAt: timestamptz(),
    finishedAt: timestamptz(),
    /** Idempotency-Key header of the create request, and a hash of its body (same key + other body → 409). */
    idempotencyKey: text(),
    requestHash: text().notNull(),
    /** The API key that created the job: an identical create from the same key moments later is a retry. */
    createdByKey: text().notNull(),
    // The queue.
    lockedBy: text(),
    lockedUntil: timestamptz(),
    heartbeatAt: timestamptz(),
    attempts: integer().notNull().default(0),
    /** Not claimed before this time (backoff after a lost worker). */
    runAfter: timestamptz().notNull().defaultNow(),
    cancelRequested: boolean().notNull().default(false),
    pauseRequested: boolean().notNull().default(false),
  },
  (t) => [
    index('jobs_organization_created_idx').on(t.organizationId, t.createdAt, t.id),
    index('jobs_status_run_after_idx').on(t.status, t.runAfter),
    uniqueIndex('jobs_idempotency_idx').on(t.organizationId, t.idempotencyKey),
    index('jobs_retry_idx').on(t.createdByKey, t.requestHash, t.createdAt),
  ],
);

export type JobRow = typeof jobs.$inferSelect;
export type NewJobRow = typeof jobs.$inferInsert;

export const jobEvents = pgTable(
  'job_events',
  {
    id: text().primaryKey(), // ftevent-…
    jobId: text().notNull().references(() => jobs.id, { onDelete: 'cascade' }),
    /** Total order of a job's events (ids are random). */
    seq: bigint({ mode: 'number' }).generatedAlwaysAsIdentity(),
    level: text().$type<'info' | 'warn' | 'error'>().notNull(),
    type: text().$type<'message' | 'metrics'>().notNull(),
    message: text().notNull(),
    data: jsonb().$type<Record<string, unknown>>(),
    /**
     * What makes an event unique within its job (e.g. `metrics:step:40`, `started:attempt:2`): a step
     * replayed after a resume, or a message sent twice by a retry, is recorded once.
     */
    dedupeKey: text().notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('job_events_dedupe_idx').on(t.jobId, t.dedupeKey), index('job_events_job_seq_idx').on(t.jobId, t.seq)],
);

export type JobEventRow = typeof jobEvents.$inferSelect;
export type NewJobEventRow = typeof jobEvents.$inferInsert;

export const checkpoints = pgTable(
  'checkpoints',
  {
    id: text().primaryKey(), // ftckpt-…
    jobId: text().notNull().references(() => jobs.id, { onDelete: 'cascade' }),
    organizationId: text().notNull().references(() => organizations.id, { onDelete: 'cascade' }),
    step: integer().notNull(),
    /** step, train_loss, train_mean_token_accuracy, valid_loss, … at that step. */
    metrics: jsonb().$type<Record<string, number | null>>().notNull(),
    /** The model id under which this checkpoint serves inference: ft:…:ckpt-step-N. */
    fineTunedModelCheckpoint: text().notNull(),
    /** Prefix of the checkpoint's objects: the exported artifact and the training state to resume from. */
    objectPrefix: text().notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('checkpoints_job_step_idx').on(t.jobId, t.step)],
);

export type CheckpointRow = typeof checkpoints.$inferSelect;
export type NewCheckpointRow = typeof checkpoints.$inferInsert;
