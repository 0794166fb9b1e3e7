// vLLM's POST /tokenize and /detokenize (outside /v1, where vLLM serves them), for any model the
// caller may use.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireApiKey } from '../../plugins/auth.ts';
import { standardErrors } from '../../schemas/common.ts';
import { DetokenizeBody, DetokenizeResponse, TokenizeBody, TokenizeResponse } from '../../schemas/tokenize.ts';

export const tokenizeRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', requireApiKey);

  app.post(
    '/tokenize',
    {
      schema: {
        summary: 'Token ids of a prompt, or of messages through the model’s chat template (as vLLM)',
        operationId: 'tokenize',
        tags: ['Tokenizer'],
        body: TokenizeBody,
        response: { 200: TokenizeResponse, ...standardErrors },
      },
    },
    async (request) => app.services.tokenization.tokenize(request.principal, request.body),
  );

  app.post(
    '/detokenize',
    {
      schema: { summary: 'The text of token ids (as vLLM)', operationId: 'detokenize', tags: ['Tokenizer'], body: DetokenizeBody, response: { 200: DetokenizeResponse, ...standardErrors } },
    },
    async (request) => app.services.tokenization.detokenize(request.principal, request.body),
  );
};
