import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { standardErrors } from '../../schemas/common.ts';
import { FileIdParams, FileObject } from '../../schemas/files.ts';
import { presentFile } from './present.ts';

export const retrieveFileRoute: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/files/:file_id',
    {
      schema: {
        summary: 'Retrieve a file',
        operationId: 'retrieveFile',
        tags: ['Files'],
        params: FileIdParams,
        response: { 200: FileObject, ...standardErrors },
      },
    },
    async (request) => presentFile(await request.server.services.files.get(request.principal.organizationId, request.params.file_id)),
  );
};
