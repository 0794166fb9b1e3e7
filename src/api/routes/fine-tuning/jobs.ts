// /v1/fine_tuning/jobs: create, list, retrieve, and the control operations, as OpenAI has them.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorResponse, standardErrors } from '../../schemas/common.ts';
import { CreateJobBody, EstimateObject, JobIdParams, JobList, JobObject, ListJobsQuery } from '../../schemas/jobs.ts';
import { presentJob } from './present.ts';

const withConflict = { ...standardErrors, 409: ErrorResponse };

export const jobRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/fine_tuning/jobs',
    {
      schema: {
        summary: 'Create a fine-tuning job',
        operationId: 'createFineTuningJob',
        tags: ['Fine-tuning'],
        headers: z.object({ 'idempotency-key': z.string().min(1).max(200).optional() }),
        body: CreateJobBody,
        response: { 200: JobObject, ...withConflict },
      },
    },
    async (request) => {
      const job = await app.services.jobs.create(request.principal, request.body, request.headers['idempotency-key']);
      return presentJob(job);
    },
  );

  app.post(
    '/fine_tuning/estimate',
    {
      schema: {
        summary: 'Estimate a fine-tuning job before creating it: tokens, steps, duration, memory (glmtune)',
        operationId: 'estimateFineTuningJob',
        tags: ['Fine-tuning'],
        body: CreateJobBody,
        response: { 200: EstimateObject, ...standardErrors },
      },
    },
    async (request) => {
      const estimate = await app.services.estimator.estimate(request.principal, request.body);
      return { object: 'fine_tuning.estimate' as const, model: request.body.model, ...estimate };
    },
  );

  app.get(
    '/fine_tuning/jobs',
    {
      schema: {
        summary: 'List fine-tuning jobs',
        operationId: 'listPaginatedFineTuningJobs',
        tags: ['Fine-tuning'],
        querystring: ListJobsQuery,
        response: { 200: JobList, ...standardErrors },
      },
    },
    async (request) => {
      const page = await app.services.jobs.list(request.principal.organizationId, request.query);
      return { object: 'list' as const, data: page.rows.map(presentJob), has_more: page.hasMore };
    },
  );

  app.get(
    '/fine_tuning/jobs/:fine_tuning_job_id',
    {
      schema: {
        summary: 'Retrieve a fine-tuning job',
        operationId: 'retrieveFineTuningJob',
        tags: ['Fine-tuning'],
        params: JobIdParams,
        response: { 200: JobObject, ...standardErrors },
      },
    },
    async (request) => presentJob(await app.services.jobs.get(request.principal.organizationId, request.params.fine_tuning_job_id)),
  );

  const control = (action: 'cancel' | 'pause' | 'resume', summary: string, operationId: string) =>
    app.post(
      `/fine_tuning/jobs/:fine_tuning_job_id/${action}`,
      {
        schema: { summary, operationId, tags: ['Fine-tuning'], params: JobIdParams, response: { 200: JobObject, ...withConflict } },
      },
      async (request) => presentJob(await app.services.jobs[action](request.principal.organizationId, request.params.fine_tuning_job_id)),
    );
  control('cancel', 'Cancel a fine-tuning job (a running job stops within one training step)', 'cancelFineTuningJob');
  control('pause', 'Pause a fine-tuning job (a running job saves a checkpoint first)', 'pauseFineTuningJob');
  control('resume', 'Resume a paused fine-tuning job from its latest checkpoint', 'resumeFineTuningJob');
};
