// Runs one claimed job: stages its inputs into a local workspace, trains it in a trainer thread,
// renews the lease while it runs, stores checkpoints and the result in the bucket, and records events,
// checkpoints and the fine-tuned model in Postgres. Exactly one terminal transition per run, always
// guarded by this worker still holding the lease.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import { isDatabaseUnavailable } from '../db/errors.ts';
import * as checkpointRows from '../db/repositories/checkpoints.ts';
import * as fileRows from '../db/repositories/files.ts';
import * as events from '../db/repositories/job-events.ts';
import * as jobRows from '../db/repositories/jobs.ts';
import * as modelRows from '../db/repositories/models.ts';
import * as orgs from '../db/repositories/organizations.ts';
import type { FileRow, JobError, JobRow, JobStatus, NewJobRow } from '../db/schema/index.ts';
import { newId } from '../ids.ts';
import type { ModelCatalog } from '../services/catalog.ts';
import type { ArtifactFolders } from '../services/artifact-folders.ts';
import type { FileService } from '../services/files.ts';
import type { JobControlBus } from '../services/jobs/jobs.ts';
import { type BlobStore, StorageError } from '../storage/blob-store.ts';
import type { TrainingConfig } from '../trainer/config.ts';
import type { FromThread, StopReason, ThreadDone, ThreadProgress, TrainRequest } from './protocol.ts';
import { resultsCsv } from './results.ts';
import { deletePrefix, downloadObject, downloadPrefix, uploadFolder } from './staging.ts';
import { TrainerThread } from './trainer-thread.ts';

export interface WorkerContext {
  /** Local copies of fine-tuned models' artifacts (a job may continue one, or distil from one). */
  artifacts: ArtifactFolders;
  /** Stop requests made in this process (see JobService.controls). */
  controls?: JobControlBus;
  db: Db;
  blobs: BlobStore;
  catalog: ModelCatalog;
  files: FileService;
  config: Config;
  workerId: string;
  log: Logger;
}

/** How often a running job looks for cancel / pause flags set by other processes. */
const CONTROL_POLL_MS = 250;

/**
 * How long a running job keeps retrying its database writes through an outage (a restart, a failover)
 * before it gives up and leaves the job to its lease: the reaper re-queues it once the database is back.
 */
const DATABASE_OUTAGE_MS = 5 * 60_000;

/** A failure that ends the job with this error. */
class JobFailure extends Error {
  constructor(readonly error: JobError) {
    super(error.message);
  }
}

/** Retries an upload to the bucket with backoff (1 s, 2 s, 4 s) before giving up. */
async function withRetries<T>(what: string, fn: () => Promise<T>, log: Logger, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts) throw err;
      log.warn({ err, attempt: i }, `${what} failed; retrying`);
      await new Promise((r) => setTimeout(r, 1000 * 2 ** (i - 1)));
    }
  }
}

/** OpenAI-style model ids: ft:{base}:{organization}:{suffix}:{job}. */
export function fineTunedModelId(job: JobRow, organizationName: string): string {
  const org = organizationName.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
  return `ft:${job.baseModel}:${org}:${job.suffix ?? ''}:${job.id.slice('ftjob-'.length)}`;
}

export class JobRunner {
  private readonly workspace: string;
  private readonly training: TrainingConfig;
  private thread?: TrainerThread;
  /** Database writes in the order the thread reported them (events keep their order). */
  private chain: Promise<void> = Promise.resolve();
  private progress: Partial<NewJobRow> = {};
  private stopSent?: StopReason;
  private leaseLost = false;
  private modelId = '';
  /** The final model's upload and the results file, once stored (kept across retries of finish()). */
  private modelUpload?: { bytes: number };
  private resultsFile?: FileRow;

  constructor(
    private readonly ctx: WorkerContext,
    private job: JobRow,
    private readonly shutdown: AbortSignal,
  ) {
    this.workspace = join(ctx.config.dataDir, 'work', 'jobs', job.id);
    this.training = job.training as unknown as TrainingConfig;
  }

  private get log(): Logger {
    return this.ctx.log;
  }

  private async event(level: 'info' | 'warn' | 'error', message: string, dedupeKey: string, data?: Record<string, unknown>, type: 'message' | 'metrics' = 'message') {
    await events.insertEvent(this.ctx.db, { id: newId('ftevent'), jobId: this.job.id, level, type, message, data, dedupeKey });
  }

  /** Queues a database write behind the earlier ones; a failure is logged, not thrown into the thread handler. */
  private enqueue(what: string, fn: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(() => this.throughOutage(what, fn)).catch((err) => this.log.error({ err, job: this.job.id }, `${what} failed`));
    return this.chain;
  }

  /**
   * Runs a database write again while the database is unreachable, so that an outage loses no event,
   * checkpoint or final state. Every write retried here is idempotent (events and checkpoints are
   * deduplicated, transitions are guarded by the expected state).
   */
  private async throughOutage<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + DATABASE_OUTAGE_MS;
    for (let delay = 250; ; delay = Math.min(2 * delay, 5000)) {
      try {
        return await fn();
      } catch (err) {
        if (!isDatabaseUnavailable(err) || Date.now() > deadline) throw err;
        this.log.warn({ job: this.job.id, err: (err as Error).message }, `${what}: the database is unavailable; retrying`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  async run(): Promise<void> {
    const { db } = this.ctx;
    rmSync(this.workspace, { recursive: true, force: true });
    mkdirSync(this.workspace, { recursive: true });
    const heartbeat = setInterval(() => void this.beat(), Math.max(200, (this.ctx.config.queue.leaseSeconds * 1000) / 3));
    // Stop requests from API processes elsewhere arrive as flags on the row: look often, the query is cheap.
    const controlPoll = setInterval(() => void this.checkControls(), CONTROL_POLL_MS);
    const onShutdown = () => this.requestStop('shutdown');
    this.shutdown.addEventListener('abort', onShutdown);
    const onControl = (jobId: string, reason: 'cancel' | 'pause') => jobId === this.job.id && this.requestStop(reason);
    this.ctx.controls?.on('stop', onControl);
    try {
      const request = await this.throughOutage('starting the job', async () => {
        const org = await orgs.findOrganization(db, this.job.organizationId);
        this.modelId = fineTunedModelId(this.job, org?.name ?? this.job.organizationId);
        if (this.job.attempts <= 1) await this.event('info', 'Fine-tuning job started', 'started');
        else await this.event('info', `Fine-tuning job restarted on a new worker (attempt ${this.job.attempts})`, `restarted:${this.job.attempts}`);
        return this.stage();
      });
      const done = await this.train(request);
      await this.chain;
      await this.throughOutage('finishing the job', () => this.finish(done));
    } catch (err) {
      await this.chain;
      if (this.leaseLost) return; // another worker owns the job now
      if (isDatabaseUnavailable(err)) {
        // The infrastructure failed, not the job: once the lease runs out the job resumes from its checkpoint.
        this.log.error({ job: this.job.id, err: (err as Error).message }, 'the database stayed unavailable; the job is left to its lease');
        return;
      }
      const error: JobError = err instanceof JobFailure ? err.error : unexpectedFailure(err);
      if (error.code === 'internal_error') this.log.error({ err, job: this.job.id }, 'job failed unexpectedly');
      await this.throughOutage('failing the job', () => this.fail(error));
    } finally {
      clearInterval(heartbeat);
      clearInterval(controlPoll);
      this.ctx.controls?.off('stop', onControl);
      this.shutdown.removeEventListener('abort', onShutdown);
      await this.thread?.terminate();
      rmSync(this.workspace, { recursive: true, force: true });
    }
  }

  /** Renews the lease, reports progress, and passes cancel / pause / shutdown to the thread. */
  private async beat(): Promise<void> {
    try {
      const state = await jobRows.heartbeat(this.ctx.db, this.job.id, this.ctx.workerId, this.ctx.config.queue.leaseSeconds, this.progress);
      if (!state) {
        this.leaseLost = true;
        this.log.warn({ job: this.job.id }, 'lost the lease on a job; stopping it here');
        await this.thread?.terminate();
        return;
      }
      if (state.cancelRequested) this.requestStop('cancel');
      else if (state.pauseRequested) this.requestStop('pause');
      else if (this.shutdown.aborted) this.requestStop('shutdown');
    } catch (err) {
      this.log.warn({ err, job: this.job.id }, 'heartbeat failed; will retry');
    }
  }

  private async checkControls(): Promise<void> {
    if (this.stopSent || !this.thread) return;
    try {
      const requests = await jobRows.stopRequests(this.ctx.db, this.job.id);
      if (requests?.cancelRequested) this.requestStop('cancel');
      else if (requests?.pauseRequested) this.requestStop('pause');
    } catch {
      // the heartbeat reports database trouble
    }
  }

  private requestStop(reason: StopReason): void {
    if (this.stopSent || !this.thread) return;
    this.stopSent = reason;
    this.thread.stop(reason);
  }

  /** Downloads the datasets, the model to start from and the checkpoint to resume from. */
  private async stage(): Promise<Omit<TrainRequest, 'type'>> {
    const { db, blobs, config } = this.ctx;
    const trainFile = join(this.workspace, 'train.jsonl');
    await this.stageFile(this.job.trainingFile, 'training_file', trainFile);
    const validationFile = this.job.validationFile ? join(this.workspace, 'validation.jsonl') : undefined;
    if (validationFile) await this.stageFile(this.job.validationFile!, 'validation_file', validationFile);

    const start = await this.modelFolders(this.job.model, 'model');
    const teacherId = this.training.distillation?.teacher;
    const teacher = teacherId ? await this.modelFolders(teacherId, 'tuning.distillation.teacher') : undefined;
    if (teacher?.initFrom) throw new JobFailure({ code: 'invalid_teacher', message: `Teacher '${teacherId}' is an adapter; use a base model or a full fine-tune as teacher.`, param: 'tuning.distillation.teacher' });

    const checkpointDir = join(this.workspace, 'checkpoints');
    const latest = await checkpointRows.latestCheckpoint(db, this.job.id);
    let resumeFrom: string | undefined;
    if (latest) {
      resumeFrom = join(checkpointDir, `checkpoint-${latest.step}`);
      await downloadPrefix(blobs, latest.objectPrefix, resumeFrom);
      await this.event('info', `Resuming from the checkpoint at step ${latest.step}`, `resume:${this.job.attempts}:${latest.step}`);
    }
    return {
      modelDir: start.modelDir,
      initFrom: start.initFrom,
      teacherDir: teacher?.modelDir,
      trainFile,
      validationFile,
      config: this.training as unknown as Record<string, unknown>,
      outputDir: join(this.workspace, 'output'),
      checkpointDir,
      resumeFrom,
      compute: { backend: config.tfBackend, native: config.compute.native, blasThreads: config.compute.blasThreads },
    };
  }

  /** Re-checks a dataset (it may have been deleted or replaced since the job was created) and downloads it. */
  private async stageFile(fileId: string, param: string, path: string): Promise<void> {
    await this.event('info', `Validating ${param === 'training_file' ? 'training' : 'validation'} file: ${fileId}`, `validating:${param}`);
    const file = await fileRows.findFile(this.ctx.db, this.job.organizationId, fileId);
    if (!file || file.status !== 'processed') {
      throw new JobFailure({ code: 'invalid_file', message: `File ${fileId} is no longer available or valid.`, param });
    }
    await downloadObject(this.ctx.blobs, file.objectKey, path);
  }

  /**
   * The folder a model trains from: a base model's folder; a full/freeze result downloaded as its own
   * base; or, for an adapter result, its base folder plus the adapter to continue (initFrom).
   */
  private async modelFolders(id: string, param: string): Promise<{ modelDir: string; initFrom?: string }> {
    const resolved = await this.ctx.catalog.resolve(this.job.organizationId, id);
    if (!resolved) throw new JobFailure({ code: 'model_not_found', message: `Model '${id}' is no longer available.`, param });
    if (resolved.kind === 'base') return { modelDir: resolved.base.path };
    const folder = await this.ctx.artifacts.folder(resolved.model);
    const adapter = resolved.model.method === 'lora' || resolved.model.method === 'qlora' || resolved.model.method === 'ptuning_v2';
    return adapter ? { modelDir: resolved.base.path, initFrom: folder } : { modelDir: folder };
  }

  /** Runs the trainer thread until it reports done or failed. */
  private train(request: Omit<TrainRequest, 'type'>): Promise<ThreadDone> {
    return new Promise<ThreadDone>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (!settled) {
          settled = true;
          fn();
        }
      };
      const onMessage = (message: FromThread) => {
        switch (message.type) {
          case 'log':
            this.log.info({ job: this.job.id }, message.message);
            break;
          case 'progress':
            this.onProgress(message);
            break;
          case 'eval':
            void this.enqueue('recording an evaluation', () =>
              this.event('info', `Step ${message.step}: validation loss=${fmt(message.metrics.valid_loss)}`, `eval:${message.step}`, { step: message.step, total_steps: this.progress.totalSteps ?? null, ...message.metrics }, 'metrics'),
            );
            break;
          case 'checkpoint':
            void this.enqueue('storing a checkpoint', async () => {
              try {
                await this.storeCheckpoint(message.step, message.dir, message.reason, message.metrics);
                this.thread?.checkpointStored(message.step);
              } catch (err) {
                const reason = err instanceof StorageError ? `the storage is unavailable (${err.message})` : (err as Error).message;
                this.thread?.checkpointStored(message.step, reason);
              }
            });
            break;
          case 'done':
            settle(() => resolve(message));
            break;
          case 'failed':
            settle(() => reject(new JobFailure({ code: message.code, message: message.message, param: null })));
            break;
        }
      };
      this.thread = new TrainerThread(onMessage, (err) => settle(() => reject(new JobFailure({ code: 'training_error', message: `The trainer thread failed: ${err.message}`, param: null }))));
      void this.thread.exited.then((code) =>
        settle(() => reject(this.leaseLost ? new Error('lease lost') : new JobFailure({ code: 'training_error', message: `The trainer thread exited (code ${code}) before finishing.`, param: null }))),
      );
      this.thread.train(request);
      if (this.shutdown.aborted) this.requestStop('shutdown'); // shutdown began while inputs were staged
    });
  }

  private onProgress(p: ThreadProgress): void {
    this.progress = { step: p.step, totalSteps: p.totalSteps, trainedTokens: Math.round(p.trainedTokens), estimatedFinish: new Date(Date.now() + p.eta * 1000) };
    void this.enqueue('recording progress', () =>
      this.event(
        'info',
        `Step ${p.step}/${p.totalSteps}: training loss=${p.loss.toFixed(4)}`,
        `metrics:${p.step}`,
        {
          step: p.step,
          total_steps: p.totalSteps,
          train_loss: p.loss,
          train_mean_token_accuracy: null,
          epoch: p.epoch,
          learning_rate: p.lr,
          grad_norm: p.gradNorm,
          tokens_per_second: p.tokensPerSecond,
        },
        'metrics',
      ),
    );
  }

  /** Uploads a checkpoint folder, records it (and its model id), and applies the retention policy. */
  private async storeCheckpoint(step: number, dir: string, reason: string, metrics: Record<string, number | null>): Promise<void> {
    const { blobs, log } = this.ctx;
    const prefix = `jobs/${this.job.id}/checkpoints/${step}/`;
    const { bytes } = await withRetries(`uploading checkpoint ${step} of ${this.job.id}`, () => uploadFolder(blobs, dir, prefix), log);
    // Only the records are retried through a database outage: the upload is done.
    await this.throughOutage('recording a checkpoint', () => this.recordCheckpoint(step, prefix, bytes, reason, metrics));
  }

  private async recordCheckpoint(step: number, prefix: string, bytes: number, reason: string, metrics: Record<string, number | null>): Promise<void> {
    const { db } = this.ctx;
    const modelId = `${this.modelId}:ckpt-step-${step}`;
    const checkpoint = await checkpointRows.insertCheckpoint(db, {
      id: newId('ftckpt'),
      jobId: this.job.id,
      organizationId: this.job.organizationId,
      step,
      metrics,
      fineTunedModelCheckpoint: modelId,
      objectPrefix: prefix,
    });
    if (!checkpoint) return; // recorded by an earlier attempt of this job
    await modelRows.insertModel(db, {
      id: modelId,
      organizationId: this.job.organizationId,
      jobId: this.job.id,
      baseModel: this.job.baseModel,
      method: this.training.method.type,
      checkpointStep: step,
      objectPrefix: `${prefix}export/`,
      artifactBytes: bytes,
    });
    await this.event('info', `Checkpoint created at step ${step}${reason === 'pause' ? ' (pause)' : ''}`, `checkpoint:${step}`, { step, fine_tuned_model_checkpoint: modelId });
    await this.prune();
  }

  /** Keeps the newest CHECKPOINTS_KEPT checkpoints; older ones lose their rows, model ids and objects. */
  private async prune(): Promise<void> {
    const { db, blobs } = this.ctx;
    const all = await checkpointRows.listCheckpoints(db, this.job.id, { limit: 1000 });
    for (const old of all.rows.slice(this.ctx.config.queue.checkpointsKept)) {
      await modelRows.deleteModel(db, this.job.organizationId, old.fineTunedModelCheckpoint);
      await checkpointRows.deleteCheckpoint(db, old.id);
      await deletePrefix(blobs, old.objectPrefix);
    }
  }

  private async finish(done: ThreadDone): Promise<void> {
    const { db } = this.ctx;
    const progress = { step: done.step, totalSteps: done.totalSteps, trainedTokens: Math.round(done.trainedTokens), estimatedFinish: null };
    if (done.status === 'cancelled') {
      await this.release('cancelled', { ...progress, finishedAt: new Date() }, 'info', 'Fine-tuning job cancelled', 'cancelled');
      return;
    }
    if (done.status === 'paused') {
      if (this.stopSent === 'shutdown') {
        await this.release('queued', { ...progress, runAfter: new Date() }, 'info', `The worker is shutting down: job re-queued at step ${done.step}`, `requeued:${this.job.attempts}`);
      } else {
        await this.release('paused', { ...progress, pauseRequested: false }, 'info', `Fine-tuning job paused at step ${done.step}`, `paused:${done.step}`);
      }
      return;
    }
    if (!done.outputDir) throw new JobFailure({ code: 'training_error', message: 'Training finished without an exported model.', param: null });
    const prefix = `models/${this.job.id}/`;
    // finish() runs again through a database outage: what it stored in the bucket is not stored twice.
    this.modelUpload ??= await withRetries(`uploading the model of ${this.job.id}`, () => uploadFolder(this.ctx.blobs, done.outputDir!, prefix), this.log);
    const { bytes } = this.modelUpload;
    await modelRows.insertModel(db, {
      id: this.modelId,
      organizationId: this.job.organizationId,
      jobId: this.job.id,
      baseModel: this.job.baseModel,
      method: this.training.method.type,
      objectPrefix: prefix,
      trainedParameters: done.trainedParameters,
      artifactBytes: bytes,
    });
    if (!this.resultsFile) {
      const csv = resultsCsv(await events.metricsEvents(db, this.job.id));
      this.resultsFile = await this.ctx.files.createInternal(this.job.organizationId, 'step_metrics.csv', 'fine-tune-results', Buffer.from(csv));
    }
    const results = this.resultsFile;
    await this.event('info', `New fine-tuned model created: ${this.modelId}`, 'model-created', { fine_tuned_model: this.modelId });
    if (done.status === 'early_stopped') {
      await this.event('info', `Stopped early at step ${done.step}: the validation loss stopped improving${done.bestStep !== undefined ? `; the weights of step ${done.bestStep} are the result` : ''}`, 'early-stopped');
    }
    const changes = { ...progress, fineTunedModel: this.modelId, resultFiles: [results.id], finishedAt: new Date() };
    await this.release('succeeded', changes, 'info', 'The job has successfully completed', 'succeeded');
  }

  private async fail(error: JobError): Promise<void> {
    const changes = { ...this.progress, error, finishedAt: new Date(), estimatedFinish: null };
    await this.release('failed', changes, 'error', `Fine-tuning job failed: ${error.message}`, 'failed', { code: error.code });
  }

  /**
   * Ends this worker's hold on the job and records the event that says so, in one transaction: no reader
   * sees the new status without its event, and a retry after an outage cannot write one without the other.
   */
  private async release(to: JobStatus, changes: Partial<NewJobRow>, level: 'info' | 'error', message: string, dedupeKey: string, data?: Record<string, unknown>): Promise<void> {
    await this.ctx.db.transaction(async (tx) => {
      if (await jobRows.release(tx, this.job.id, this.ctx.workerId, to, changes)) {
        await events.insertEvent(tx, { id: newId('ftevent'), jobId: this.job.id, level, type: 'message', message, data, dedupeKey });
      }
    });
  }
}

/** A failure the job did not anticipate: the storage staying down (after retries), a full disk, or a bug. */
function unexpectedFailure(err: unknown): JobError {
  if (err instanceof StorageError && err.kind === 'unavailable') {
    return { code: 'storage_unavailable', message: `The storage is unavailable (${err.message}); the job could not store its results.`, param: null };
  }
  if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
    return { code: 'disk_full', message: `The worker ran out of local disk space (${(err as Error).message}); the job could not stage its inputs or write its outputs.`, param: null };
  }
  return { code: 'internal_error', message: (err as Error).message, param: null };
}

function fmt(v: number | null | undefined): string {
  return typeof v === 'number' ? v.toFixed(4) : 'n/a';
}
