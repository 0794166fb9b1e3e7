// What a job has recorded: its events (newest first, or live as they arrive), checkpoints and the loss
// curves built from its metrics events.
import type { Db } from '../../db/client.ts';
import * as checkpointRows from '../../db/repositories/checkpoints.ts';
import * as events from '../../db/repositories/job-events.ts';
import * as jobRows from '../../db/repositories/jobs.ts';
import type { JobEventRow } from '../../db/schema/index.ts';
import { errors } from '../../errors.ts';
import type { JobService } from './jobs.ts';

export interface MetricsSeries {
  totalSteps: number | null;
  train: { step: number; loss: number; accuracy: number | null; learning_rate: number | null; grad_norm: number | null; tokens_per_second: number | null }[];
  validation: { step: number; loss: number; accuracy: number | null; perplexity: number | null }[];
  generation: ({ step: number } & Record<string, number | null>)[];
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Generation metrics carry these keys (×100, averaged over the samples). */
const GENERATION_KEYS = ['rouge-1', 'rouge-2', 'rouge-l', 'bleu-4'];

export class JobHistory {
  constructor(private readonly db: Db, private readonly jobs: JobService) {}

  async events(organizationId: string, jobId: string, options: { after?: string; limit: number }) {
    await this.jobs.get(organizationId, jobId);
    let afterSeq: number | undefined;
    if (options.after) {
      const cursor = await events.findEvent(this.db, jobId, options.after);
      if (!cursor) throw errors.invalid(`No event found with id '${options.after}' in this job.`, 'after');
      afterSeq = cursor.seq;
    }
    return events.listEvents(this.db, jobId, { limit: options.limit, afterSeq });
  }

  async checkpoints(organizationId: string, jobId: string, options: { after?: string; limit: number }) {
    await this.jobs.get(organizationId, jobId);
    let afterStep: number | undefined;
    if (options.after) {
      const cursor = await checkpointRows.findCheckpoint(this.db, jobId, options.after);
      if (!cursor) throw errors.invalid(`No checkpoint found with id '${options.after}' in this job.`, 'after');
      afterStep = cursor.step;
    }
    return checkpointRows.listCheckpoints(this.db, jobId, { limit: options.limit, afterStep });
  }

  /** Loss curves for charts: one point per metrics event, in step order. */
  async metrics(organizationId: string, jobId: string): Promise<MetricsSeries> {
    const job = await this.jobs.get(organizationId, jobId);
    const series: MetricsSeries = { totalSteps: job.totalSteps, train: [], validation: [], generation: [] };
    for (const event of await events.metricsEvents(this.db, jobId)) {
      const d = event.data ?? {};
      const step = num(d.step);
      if (step === null) continue;
      const trainLoss = num(d.train_loss);
      if (trainLoss !== null) {
        series.train.push({ step, loss: trainLoss, accuracy: num(d.train_mean_token_accuracy), learning_rate: num(d.learning_rate), grad_norm: num(d.grad_norm), tokens_per_second: num(d.tokens_per_second) });
      }
      const validLoss = num(d.valid_loss);
      if (validLoss !== null) series.validation.push({ step, loss: validLoss, accuracy: num(d.valid_mean_token_accuracy), perplexity: num(d.valid_perplexity) });
      const generation = GENERATION_KEYS.filter((k) => k in d);
      if (generation.length > 0) series.generation.push({ step, ...Object.fromEntries(generation.map((k) => [k, num(d[k])])) });
    }
    return series;
  }

  /**
   * Follows a job: yields its events oldest first as they are recorded (starting after `sinceSeq`),
   * until the job has ended and every event is out, or `signal` aborts.
   */
  async *follow(organizationId: string, jobId: string, signal: AbortSignal, pollMs = 500): AsyncGenerator<JobEventRow> {
    await this.jobs.get(organizationId, jobId);
    let seq = 0;
    while (!signal.aborted) {
      const batch = await events.eventsSince(this.db, jobId, seq, 500);
      for (const event of batch) {
        seq = event.seq;
        yield event;
      }
      if (batch.length === 500) continue;
      const job = await this.jobs.get(organizationId, jobId);
      if (jobRows.FINAL_STATUSES.includes(job.status) && (await events.eventsSince(this.db, jobId, seq, 1)).length === 0) return;
      await sleep(pollMs, signal);
    }
  }
}

/** Waits `ms`, or less when `signal` aborts; leaves no listener behind either way. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
