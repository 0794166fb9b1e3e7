// The worker role: a loop that checks new jobs' files, sends jobs of dead workers back to the queue,
// and claims queued jobs for this process's trainer slots. Any number of processes can run it against
// one Postgres and one bucket.
import { hostname } from 'node:os';
import * as events from '../db/repositories/job-events.ts';
import * as fileRows from '../db/repositories/files.ts';
import * as jobRows from '../db/repositories/jobs.ts';
import type { JobRow } from '../db/schema/index.ts';
import { newId, randomBase62 } from '../ids.ts';
import { JobRunner, type WorkerContext } from './job-runner.ts';

export class QueueWorker {
  private readonly running = new Map<string, Promise<void>>();
  private readonly shutdown = new AbortController();
  private timer?: NodeJS.Timeout;
  private ticking = false;

  constructor(private readonly ctx: Omit<WorkerContext, 'workerId'> & { workerId?: string }) {
    this.ctx.workerId ??= `${hostname()}:${process.pid}:${randomBase62(6)}`;
  }

  private get context(): WorkerContext {
    return this.ctx as WorkerContext;
  }

  get workerId(): string {
    return this.context.workerId;
  }

  start(): void {
    const loop = async () => {
      await this.tick();
      if (!this.shutdown.signal.aborted) this.timer = setTimeout(loop, this.ctx.config.queue.pollMs);
    };
    void loop();
  }

  /** One round: check files, reap expired leases, claim while slots are free. Never throws. */
  async tick(): Promise<void> {
    if (this.ticking || this.shutdown.signal.aborted) return;
    this.ticking = true;
    try {
      await this.validateNewJobs();
      await this.reap();
      while (this.running.size < this.ctx.config.queue.trainerConcurrency && !this.shutdown.signal.aborted) {
        const job = await jobRows.claimNextJob(this.ctx.db, this.workerId, this.ctx.config.queue.leaseSeconds, this.ctx.config.queue.maxRunningPerOrganization);
        if (!job) break;
        this.launch(job);
      }
    } catch (err) {
      this.ctx.log.warn({ err }, 'queue round failed; will retry');
    } finally {
      this.ticking = false;
    }
  }

  private launch(job: JobRow): void {
    this.ctx.log.info({ job: job.id, attempt: job.attempts }, 'training job');
    const run = new JobRunner(this.context, job, this.shutdown.signal)
      .run()
      .catch((err) => this.ctx.log.error({ err, job: job.id }, 'job runner crashed'))
      .finally(() => {
        this.running.delete(job.id);
        if (!this.shutdown.signal.aborted) void this.tick(); // a slot is free
      });
    this.running.set(job.id, run);
  }

  /** validating_files → queued once the files are still there and valid; failed otherwise. */
  private async validateNewJobs(): Promise<void> {
    const { db } = this.ctx;
    for (const job of await jobRows.jobsValidatingFiles(db, 20)) {
      const event = (message: string, dedupeKey: string, level: 'info' | 'error' = 'info') =>
        events.insertEvent(db, { id: newId('ftevent'), jobId: job.id, level, type: 'message', message, dedupeKey });
      let problem: { param: string; message: string } | undefined;
      for (const [param, fileId] of [['training_file', job.trainingFile], ['validation_file', job.validationFile]] as const) {
        if (!fileId) continue;
        await event(`Validating ${param === 'training_file' ? 'training' : 'validation'} file: ${fileId}`, `validate:${param}`);
        const file = await fileRows.findFile(db, job.organizationId, fileId);
        if (!file || file.status !== 'processed') problem ??= { param, message: `File ${fileId} is no longer available or valid.` };
      }
      if (problem) {
        const failed = await jobRows.transition(db, job.id, ['validating_files'], 'failed', { error: { code: 'invalid_file', ...problem }, finishedAt: new Date() });
        if (failed) await event(`Fine-tuning job failed: ${problem.message}`, 'failed', 'error');
      } else if (await jobRows.transition(db, job.id, ['validating_files'], 'queued')) {
        await event('Files validated, moving job to queued state', 'queued');
      }
    }
  }

  private async reap(): Promise<void> {
    const { db, config, log } = this.ctx;
    const { requeued, failed } = await jobRows.reapExpiredLeases(db, config.queue.maxAttempts, config.queue.leaseSeconds);
    for (const job of requeued) {
      log.warn({ job: job.id }, 'a worker stopped renewing its lease; job back in the queue');
      await events.insertEvent(db, { id: newId('ftevent'), jobId: job.id, level: 'warn', type: 'message', message: `The job's worker stopped responding; the job goes back to the queue and resumes from its latest checkpoint (attempt ${job.attempts} of ${config.queue.maxAttempts})`, dedupeKey: `lost:${job.attempts}` });
    }
    for (const job of failed) {
      await events.insertEvent(db, { id: newId('ftevent'), jobId: job.id, level: 'error', type: 'message', message: `Fine-tuning job failed: ${job.error?.message}`, dedupeKey: 'failed' });
    }
  }

  /** Stops claiming; running jobs save a checkpoint and go back to the queue; resolves when they have. */
  async stop(): Promise<void> {
    this.shutdown.abort();
    clearTimeout(this.timer);
    await Promise.all(this.running.values());
  }
}
