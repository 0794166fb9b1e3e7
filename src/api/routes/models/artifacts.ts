// A fine-tune's files: listed with sha256, downloaded one by one or as a tar (streamed from the
// bucket), and merging a LoRA adapter into its base as a new model.
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { contentDisposition } from '../../content-disposition.ts';
import { standardErrors } from '../../schemas/common.ts';
import { ArtifactList, ArtifactParams, ModelObject, ModelParams } from '../../schemas/models.ts';
import type { Download } from '../../../services/models.ts';
import { presentModel } from './present.ts';

// Downloads: the 200 body is streamed bytes, not JSON; errors are JSON as everywhere.
const binary = z.string().meta({ format: 'binary' });
const streamed = ({ httpStatus }: { httpStatus?: string }) => (data: unknown) => (httpStatus === '200' ? (data as string) : JSON.stringify(data));

function send(reply: FastifyReply, download: Download, type: string): FastifyReply {
  // A stream, passed through untouched by the serializer above; the schema describes it for the document.
  return reply
    .header('content-type', type)
    .header('content-length', String(download.bytes))
    .header('content-disposition', contentDisposition(download.filename))
    .send(download.body as unknown as string);
}

export const artifactRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/models/:model/artifacts',
    {
      schema: {
        summary: 'List a fine-tuned model’s files with their sizes and sha256',
        operationId: 'listModelArtifacts',
        tags: ['Models'],
        params: ModelParams,
        response: { 200: ArtifactList, ...standardErrors },
      },
    },
    async (request) => ({
      object: 'list' as const,
      model: request.params.model,
      data: await app.services.models.artifacts(request.principal.organizationId, request.params.model),
    }),
  );

  app.get(
    '/models/:model/artifacts.tar',
    {
      schema: {
        summary: 'Download a fine-tuned model’s folder as a tar archive',
        operationId: 'downloadModelArchive',
        tags: ['Models'],
        params: ModelParams,
        produces: ['application/x-tar'],
        response: { 200: binary.describe('A ustar archive with one top folder named after the model.'), ...standardErrors },
      },
      serializerCompiler: streamed,
    },
    async (request, reply) => send(reply, await app.services.models.archive(request.principal.organizationId, request.params.model), 'application/x-tar'),
  );

  app.get(
    '/models/:model/artifacts/:name',
    {
      schema: {
        summary: 'Download one file of a fine-tuned model',
        operationId: 'downloadModelArtifact',
        tags: ['Models'],
        params: ArtifactParams,
        produces: ['application/octet-stream'],
        response: { 200: binary.describe('The file, byte for byte.'), ...standardErrors },
      },
      serializerCompiler: streamed,
    },
    async (request, reply) =>
      send(reply, await app.services.models.artifact(request.principal.organizationId, request.params.model, request.params.name), 'application/octet-stream'),
  );

  app.post(
    '/models/:model/merge',
    {
      schema: {
        summary: 'Merge a LoRA / QLoRA adapter into its base: a new model {id}:merged with whole weights',
        operationId: 'mergeModel',
        tags: ['Models'],
        params: ModelParams,
        response: { 200: ModelObject, ...standardErrors },
      },
    },
    async (request) => presentModel(await app.services.models.merge(request.principal.organizationId, request.params.model)),
  );
};
