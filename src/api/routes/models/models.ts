// /v1/models: OpenAI's list, retrieve and delete.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ErrorResponse, standardErrors } from '../../schemas/common.ts';
import { ModelDeleted, ModelList, ModelObject, ModelParams } from '../../schemas/models.ts';
import { presentModel } from './present.ts';

const withForbidden = { ...standardErrors, 403: ErrorResponse };

export const modelRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/models',
    { schema: { summary: 'List models: every base model and your fine-tuned models and checkpoints', operationId: 'listModels', tags: ['Models'], response: { 200: ModelList, ...standardErrors } } },
    async (request) => ({ object: 'list' as const, data: (await app.services.models.list(request.principal.organizationId)).map(presentModel) }),
  );

  app.get(
    '/models/:model',
    { schema: { summary: 'Retrieve a model', operationId: 'retrieveModel', tags: ['Models'], params: ModelParams, response: { 200: ModelObject, ...standardErrors } } },
    async (request) => presentModel(await app.services.models.get(request.principal.organizationId, request.params.model)),
  );

  app.delete(
    '/models/:model',
    {
      schema: {
        summary: 'Delete a fine-tuned model and its files',
        operationId: 'deleteModel',
        tags: ['Models'],
        params: ModelParams,
        response: { 200: ModelDeleted, ...withForbidden },
      },
    },
    async (request) => {
      await app.services.models.delete(request.principal.organizationId, request.params.model);
      return { id: request.params.model, object: 'model' as const, deleted: true };
    },
  );
};
