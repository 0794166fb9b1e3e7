// POST /v1/chat/completions, answered whole or streamed as Server-Sent Events.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { randomBase62 } from '../../../ids.ts';
import { clientGone, sendEventStream, unlessAbandoned } from '../../event-stream.ts';
import { requireApiKey } from '../../plugins/auth.ts';
import { ChatCompletion, ChatCompletionBody } from '../../schemas/chat.ts';
import { ErrorResponse, standardErrors } from '../../schemas/common.ts';
import { chatChunks, chatCompletion } from './present.ts';

export const chatRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', requireApiKey);

  app.post(
    '/chat/completions',
    {
      schema: {
        summary: 'Create a chat completion (stream: true answers with Server-Sent Events of CreateChatCompletionStreamResponse chunks, ending with [DONE])',
        operationId: 'createChatCompletion',
        tags: ['Chat'],
        body: ChatCompletionBody,
        response: { 200: ChatCompletion, ...standardErrors, 504: ErrorResponse },
      },
    },
    async (request, reply) => {
      const signal = clientGone(reply);
      // Model, messages and every limit are checked, and the model loaded, before any byte is sent.
      const started = await app.services.chatCompletions.create(request.principal, request.body, signal);
      const meta = { id: `chatcmpl-${randomBase62(24)}`, created: Math.floor(Date.now() / 1000), model: request.body.model };
      if (!request.body.stream) return unlessAbandoned(reply, chatCompletion(started, meta));
      await sendEventStream(request, reply, chatChunks(started, meta, request.body.stream_options?.include_usage === true));
    },
  );
};
