// Fine-tuning jobs as the API sees them: create (validated, idempotent), read, list, and the control
// requests (cancel, pause, resume). Training itself happens in the worker (src/worker/).
import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { and, eq, gt, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import * as fileRows from '../../db/repositories/files.ts';
import * as events from '../../db/repositories/job-events.ts';
import * as jobRows from '../../db/repositories/jobs.ts';
import { type FileRow, type JobRow, jobs } from '../../db/schema/index.ts';
import { errors } from '../../errors.ts';
import { newId } from '../../ids.ts';
import type { TrainingConfig } from '../../trainer/config.ts';
import type { ModelCatalog, ResolvedModel } from '../catalog.ts';
import type { Principal } from '../auth.ts';
import {
  buildTrainingConfig,
  checkFitsModel,
  invalidTuning,
  type HyperparametersInput,
  requestHash,
  resolveHyperparameters,
  type TuningInput,
  tuningSchema,
} from './spec.ts';

/** An identical create from the same API key within this window is a client retry: same job. */
const RETRY_WINDOW_SECONDS = 120;

export interface CreateJobRequest {
  model: string;
  training_file: string;
  validation_file?: string | null;
  hyperparameters?: HyperparametersInput;
  method?: { type: 'supervised' | 'dpo' | 'reinforcement'; supervised?: { hyperparameters?: HyperparametersInput } | null } | null;
  suffix?: string | null;
  seed?: number | null;
  metadata?: Record<string, string> | null;
  integrations?: unknown[] | null;
  tuning?: TuningInput;
}

/**
 * Stop requests for running jobs, inside one process. The request is also a flag on the job's row, which
 * workers in other processes poll; a worker in this process hears it here at once.
 */
export type JobControlBus = EventEmitter<{ stop: [jobId: string, reason: 'cancel' | 'pause'] }>;

export interface PreparedJob {
  resolved: ResolvedModel;
  trainingFile: FileRow;
  validationFile?: FileRow;
  hp: ReturnType<typeof resolveHyperparameters>;
  training: TrainingConfig;
}

export class JobService {
  readonly controls: JobControlBus = new EventEmitter();

  constructor(
    private readonly db: Db,
    private readonly catalog: ModelCatalog,
  ) {}

  /**
   * Creates a job in `validating_files`. Nothing that can fail comes after the insert, so a client
   * never sees an error for a job that exists (and would create it twice by retrying).
   */
  async create(principal: Principal, body: CreateJobRequest, idempotencyKey: string | undefined): Promise<JobRow> {
    const hash = requestHash(body);
    const earlier = await this.earlierCreate(principal, hash, idempotencyKey);
    if (earlier) return earlier;

    const { resolved, trainingFile, validationFile, hp, training } = await this.prepare(principal, body);
    const seed = training.seed;

    const id = newId('ftjob');
    try {
      return await this.db.transaction(async (tx) => {
        const job = await jobRows.insertJob(tx, {
          id,
          organizationId: principal.organizationId,
          model: body.model,
          baseModel: resolved.base.id,
          trainingFile: trainingFile.id,
          validationFile: validationFile?.id ?? null,
          status: 'validating_files',
          hyperparameters: { ...hp },
          method: { type: 'supervised', supervised: { hyperparameters: { ...hp } } },
          training: training as unknown as Record<string, unknown>,
          suffix: body.suffix ?? null,
          seed,
          metadata: body.metadata ?? null,
          idempotencyKey: idempotencyKey ?? null,
          requestHash: hash,
          createdByKey: principal.keyId,
        });
        await events.insertEvent(tx, {
          id: newId('ftevent'),
          jobId: id,
          level: 'info',
          type: 'message',
          message: `Created fine-tuning job: ${id}`,
          dedupeKey: 'created',
        });
        return job;
      });
    } catch (err) {
      // Two identical requests raced on the same Idempotency-Key: the other one won.
      const winner = idempotencyKey ? await jobRows.findJobByIdempotencyKey(this.db, principal.organizationId, idempotencyKey) : undefined;
      if (winner?.requestHash === hash) return winner;
      throw err;
    }
  }

  /**
   * Everything a create request asks for, checked and resolved: the model, the files, "auto"
   * hyperparameters and the full training configuration. A problem is a 400 naming the field.
   */
  async prepare(principal: Principal, body: CreateJobRequest): Promise<PreparedJob> {
    if (body.method && body.method.type !== 'supervised') {
      throw errors.invalid(`Method '${body.method.type}' is not supported; use 'supervised'.`, 'method.type');
    }
    if (body.integrations && body.integrations.length > 0) throw errors.invalid('Integrations are not supported.', 'integrations');
    const resolved = await this.catalog.resolve(principal.organizationId, body.model);
    if (!resolved) throw errors.invalid(`Model '${body.model}' does not exist or you do not have access to it.`, 'model', 'model_not_found');
    const trainingFile = await this.usableFile(principal, body.training_file, 'training_file');
    const validationFile = body.validation_file ? await this.usableFile(principal, body.validation_file, 'validation_file') : undefined;
    const tuning = parseTuning(body.tuning);
    const hp = resolveHyperparameters(body.method?.supervised?.hyperparameters ?? body.hyperparameters ?? {}, trainingFile.examples ?? 0);
    const training = buildTrainingConfig(tuning, hp, body.seed ?? randomInt(0, 2 ** 31 - 1));
    checkFitsModel(training, resolved.config);
    checkContinuation(resolved, training);
    if (training.distillation) await this.checkTeacher(principal, resolved, training);
    return { resolved, trainingFile, validationFile, hp, training };
  }

  async get(organizationId: string, id: string): Promise<JobRow> {
    const job = await jobRows.findJob(this.db, organizationId, id);
    if (!job) throw errors.notFound('fine-tuning job', id, 'fine_tuning_job_id');
    return job;
  }

  async list(organizationId: string, options: { after?: string; limit: number; metadata?: Record<string, string> }) {
    let after: JobRow | undefined;
    if (options.after) {
      after = await jobRows.findJob(this.db, organizationId, options.after);
      if (!after) throw errors.invalid(`No fine-tuning job found with id '${options.after}' to list after.`, 'after');
    }
    return jobRows.listJobs(this.db, organizationId, { limit: options.limit, after, metadata: options.metadata });
  }

  /**
   * Cancels at once a job that is not training; a running job is asked to stop, and its worker ends it
   * within one training step.
   */
  async cancel(organizationId: string, id: string): Promise<JobRow> {
    const job = await this.get(organizationId, id);
    const stopped = await jobRows.transition(this.db, id, ['validating_files', 'queued', 'paused'], 'cancelled', { finishedAt: new Date() });
    if (stopped) {
      await this.event(id, 'info', 'Fine-tuning job cancelled', 'cancelled');
      return stopped;
    }
    const flagged = await jobRows.requestOnRunning(this.db, organizationId, id, 'cancelRequested');
    if (flagged) {
      this.controls.emit('stop', id, 'cancel');
      return flagged;
    }
    throw errors.conflict(`Fine-tuning job '${id}' has already ${job.status === 'succeeded' ? 'succeeded' : `ended (${job.status})`}; it cannot be cancelled.`, 'fine_tuning_job_id');
  }

  /** Pauses a running job (its worker saves a checkpoint first) or holds a queued one. */
  async pause(organizationId: string, id: string): Promise<JobRow> {
    const job = await this.get(organizationId, id);
    const held = await jobRows.transition(this.db, id, ['validating_files', 'queued'], 'paused');
    if (held) {
      await this.event(id, 'info', 'Fine-tuning job paused', `paused:${Date.now()}`);
      return held;
    }
    const flagged = await jobRows.requestOnRunning(this.db, organizationId, id, 'pauseRequested');
    if (flagged) {
      this.controls.emit('stop', id, 'pause');
      return flagged;
    }
    throw errors.conflict(`Fine-tuning job '${id}' is ${job.status}; only a queued or running job can be paused.`, 'fine_tuning_job_id');
  }

  /** Sends a paused job back to the queue; it continues from its latest checkpoint. */
  async resume(organizationId: string, id: string): Promise<JobRow> {
    const job = await this.get(organizationId, id);
    const resumed = await jobRows.transition(this.db, id, ['paused'], 'queued', { pauseRequested: false, runAfter: new Date() });
    if (!resumed) throw errors.conflict(`Fine-tuning job '${id}' is ${job.status}; only a paused job can be resumed.`, 'fine_tuning_job_id');
    await this.event(id, 'info', 'Fine-tuning job resumed', `resumed:${Date.now()}`);
    return resumed;
  }

  fileInUse(fileId: string): Promise<boolean> {
    return jobRows.fileUsedByActiveJob(this.db, fileId);
  }

  private async event(jobId: string, level: 'info' | 'warn' | 'error', message: string, dedupeKey: string): Promise<void> {
    await events.insertEvent(this.db, { id: newId('ftevent'), jobId, level, type: 'message', message, dedupeKey });
  }

  /** The job an earlier identical request made: by Idempotency-Key, or a retry from the same key just now. */
  private async earlierCreate(principal: Principal, hash: string, idempotencyKey: string | undefined): Promise<JobRow | undefined> {
    if (idempotencyKey) {
      const existing = await jobRows.findJobByIdempotencyKey(this.db, principal.organizationId, idempotencyKey);
      if (existing && existing.requestHash !== hash) {
        throw errors.conflict('This Idempotency-Key was used with a different request body.', 'Idempotency-Key');
      }
      return existing;
    }
    const [recent] = await this.db
      .select()
      .from(jobs)
      .where(
        and(
          eq(jobs.createdByKey, principal.keyId),
          eq(jobs.requestHash, hash),
          gt(jobs.createdAt, sql`now() - make_interval(secs => ${RETRY_WINDOW_SECONDS})`),
        ),
      )
      .limit(1);
    return recent;
  }

  /** A processed fine-tune file of the caller's organization; anything else is a 400 naming the field. */
  private async usableFile(principal: Principal, id: string, param: string): Promise<FileRow> {
    const file = await fileRows.findFile(this.db, principal.organizationId, id);
    if (!file) throw errors.invalid(`File '${id}' does not exist or you do not have access to it.`, param, 'invalid_file');
    if (file.purpose !== 'fine-tune') throw errors.invalid(`File '${id}' has purpose '${file.purpose}'; a fine-tune file is needed.`, param, 'invalid_file');
    if (file.status !== 'processed') {
      throw errors.invalid(`File '${id}' is not a valid training file: ${file.statusDetails ?? file.status}`, param, 'invalid_file');
    }
    return file;
  }

  private async checkTeacher(principal: Principal, student: ResolvedModel, training: TrainingConfig): Promise<void> {
    const teacherId = training.distillation!.teacher;
    const teacher = await this.catalog.resolve(principal.organizationId, teacherId);
    if (!teacher) throw errors.invalid(`Teacher model '${teacherId}' does not exist or you do not have access to it.`, 'tuning.distillation.teacher', 'model_not_found');
    const same =
      teacher.base.tokenizerKind === student.base.tokenizerKind && teacher.config.paddedVocabSize === student.config.paddedVocabSize;
    if (!same) {
      throw errors.invalid(
        `Teacher '${teacherId}' and student '${student.base.id}' must share a tokenizer (${teacher.base.tokenizerKind}/${teacher.config.paddedVocabSize} vs ${student.base.tokenizerKind}/${student.config.paddedVocabSize}).`,
        'tuning.distillation.teacher',
      );
    }
  }
}

function parseTuning(input: TuningInput | undefined) {
  const parsed = tuningSchema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  throw invalidTuning(parsed.error);
}

/** Continuing from a fine-tuned model: an adapter continues with its own method; merged weights with any. */
function checkContinuation(resolved: ResolvedModel, training: TrainingConfig): void {
  if (resolved.kind !== 'fine-tuned') return;
  const earlier = resolved.model.method;
  const adapterLike = earlier === 'lora' || earlier === 'qlora' || earlier === 'ptuning_v2';
  if (adapterLike && earlier !== training.method.type) {
    throw errors.invalid(
      `Model '${resolved.model.id}' is a ${earlier} result; continue it with method ${earlier}, or fine-tune its base model '${resolved.base.id}'.`,
      'tuning.method.type',
    );
  }
}
