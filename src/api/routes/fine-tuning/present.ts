import type { z } from 'zod';
import type { CheckpointRow, JobEventRow, JobRow } from '../../../db/schema/index.ts';
import type { CheckpointObject, EventObject, JobObject } from '../../schemas/jobs.ts';
import { unixSeconds } from '../files/present.ts';

type Resolved = z.infer<typeof JobObject>['hyperparameters'];

export function presentJob(job: JobRow): z.infer<typeof JobObject> {
  const hp = job.hyperparameters as Resolved;
  return {
    id: job.id,
    object: 'fine_tuning.job',
    created_at: unixSeconds(job.createdAt),
    error: job.error ?? null,
    fine_tuned_model: job.fineTunedModel,
    finished_at: job.finishedAt ? unixSeconds(job.finishedAt) : null,
    hyperparameters: hp,
    method: { type: 'supervised', supervised: { hyperparameters: hp } },
    model: job.model,
    organization_id: job.organizationId,
    result_files: job.resultFiles,
    seed: job.seed,
    status: job.status,
    trained_tokens: job.trainedTokens,
    training_file: job.trainingFile,
    validation_file: job.validationFile,
    estimated_finish: job.estimatedFinish ? unixSeconds(job.estimatedFinish) : null,
    integrations: null,
    metadata: job.metadata,
    suffix: job.suffix,
    base_model: job.baseModel,
    tuning: job.training,
    progress: { step: job.step, total_steps: job.totalSteps },
  };
}

export function presentEvent(event: JobEventRow): z.infer<typeof EventObject> {
  return {
    id: event.id,
    object: 'fine_tuning.job.event',
    created_at: unixSeconds(event.createdAt),
    level: event.level,
    message: event.message,
    type: event.type,
    data: event.data ?? {},
  };
}

export function presentCheckpoint(checkpoint: CheckpointRow): z.infer<typeof CheckpointObject> {
  return {
    id: checkpoint.id,
    object: 'fine_tuning.job.checkpoint',
    created_at: unixSeconds(checkpoint.createdAt),
    fine_tuned_model_checkpoint: checkpoint.fineTunedModelCheckpoint,
    fine_tuning_job_id: checkpoint.jobId,
    step_number: checkpoint.step,
    metrics: checkpoint.metrics,
  };
}
