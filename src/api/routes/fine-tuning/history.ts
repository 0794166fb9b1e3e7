// What a job recorded: events (paged, or live as Server-Sent Events), checkpoints, loss curves.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { standardErrors } from '../../schemas/common.ts';
import { CheckpointList, EventList, JobIdParams, ListCheckpointsQuery, ListEventsQuery, MetricsSeries } from '../../schemas/jobs.ts';
import { presentCheckpoint, presentEvent } from './present.ts';

export const historyRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/fine_tuning/jobs/:fine_tuning_job_id/events',
    {
      schema: {
        summary: 'List a fine-tuning job’s events, newest first',
        operationId: 'listFineTuningEvents',
        tags: ['Fine-tuning'],
        params: JobIdParams,
        querystring: ListEventsQuery,
        response: { 200: EventList, ...standardErrors },
      },
    },
    async (request) => {
      const page = await app.services.history.events(request.principal.organizationId, request.params.fine_tuning_job_id, request.query);
      return { object: 'list' as const, data: page.rows.map(presentEvent), has_more: page.hasMore };
    },
  );

  app.get(
    '/fine_tuning/jobs/:fine_tuning_job_id/events/stream',
    {
      schema: {
        summary: 'Follow a fine-tuning job’s events live (Server-Sent Events, oldest first; ends when the job has ended)',
        operationId: 'streamFineTuningEvents',
        tags: ['Fine-tuning'],
        params: JobIdParams,
        produces: ['text/event-stream'],
        response: { 200: z.string().describe('`data: <FineTuningJobEvent JSON>` per event, then `data: [DONE]`.'), ...standardErrors },
      },
      serializerCompiler: ({ httpStatus }) => (data) => (httpStatus === '200' ? (data as string) : JSON.stringify(data)),
    },
    async (request, reply) => {
      const { organizationId } = request.principal;
      const jobId = request.params.fine_tuning_job_id;
      await app.services.jobs.get(organizationId, jobId); // 404 before the stream starts
      const abort = new AbortController();
      request.raw.on('close', () => abort.abort());
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-request-id': request.id });
      try {
        for await (const event of app.services.history.follow(organizationId, jobId, abort.signal)) {
          reply.raw.write(`data: ${JSON.stringify(presentEvent(event))}\n\n`);
        }
        if (!abort.signal.aborted) reply.raw.write('data: [DONE]\n\n');
      } catch (err) {
        request.log.warn({ err }, 'event stream ended by an error');
      } finally {
        reply.raw.end();
      }
    },
  );

  app.get(
    '/fine_tuning/jobs/:fine_tuning_job_id/checkpoints',
    {
      schema: {
        summary: 'List a fine-tuning job’s checkpoints, newest first',
        operationId: 'listFineTuningJobCheckpoints',
        tags: ['Fine-tuning'],
        params: JobIdParams,
        querystring: ListCheckpointsQuery,
        response: { 200: CheckpointList, ...standardErrors },
      },
    },
    async (request) => {
      const page = await app.services.history.checkpoints(request.principal.organizationId, request.params.fine_tuning_job_id, request.query);
      const data = page.rows.map(presentCheckpoint);
      return { object: 'list' as const, data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: page.hasMore };
    },
  );

  app.get(
    '/fine_tuning/jobs/:fine_tuning_job_id/metrics',
    {
      schema: {
        summary: 'Loss curves of a fine-tuning job (training, validation, generation metrics by step)',
        operationId: 'getFineTuningJobMetrics',
        tags: ['Fine-tuning'],
        params: JobIdParams,
        response: { 200: MetricsSeries, ...standardErrors },
      },
    },
    async (request) => {
      const m = await app.services.history.metrics(request.principal.organizationId, request.params.fine_tuning_job_id);
      return {
        object: 'fine_tuning.job.metrics' as const,
        job_id: request.params.fine_tuning_job_id,
        total_steps: m.totalSteps,
        train: m.train,
        validation: m.validation,
        generation: m.generation,
      };
    },
  );
};
