// POST /v1/completions, answered whole or streamed as Server-Sent Events.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { randomBase62 } from '../../../ids.ts';
import { clientGone, sendEventStream, unlessAbandoned } from '../../event-stream.ts';
import { requireApiKey } from '../../plugins/auth.ts';
import { ErrorResponse, standardErrors } from '../../schemas/common.ts';
import { Completion, CompletionBody } from '../../schemas/completions.ts';
import { completion, completionChunks } from './present.ts';

export const completionsRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', requireApiKey);

  app.post(
    '/completions',
    {
      schema: {
        summary: 'Create a completion (stream: true answers with Server-Sent Events of the same shape, ending with [DONE])',
        operationId: 'createCompletion',
        tags: ['Completions'],
        body: CompletionBody,
        response: { 200: Completion, ...standardErrors, 504: ErrorResponse },
      },
    },
    async (request, reply) => {
      const signal = clientGone(reply);
      const started = await app.services.completions.create(request.principal, request.body, signal);
      const meta = { id: `cmpl-${randomBase62(24)}`, created: Math.floor(Date.now() / 1000), model: request.body.model };
      if (!request.body.stream) return unlessAbandoned(reply, completion(started, meta));
      await sendEventStream(request, reply, completionChunks(started, meta, request.body.stream_options?.include_usage === true));
    },
  );
};
