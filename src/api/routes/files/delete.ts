import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ErrorResponse, standardErrors } from '../../schemas/common.ts';
import { FileDeleted, FileIdParams } from '../../schemas/files.ts';

export const deleteFileRoute: FastifyPluginAsyncZod = async (app) => {
  app.delete(
    '/files/:file_id',
    {
      schema: {
        summary: 'Delete a file',
        operationId: 'deleteFile',
        tags: ['Files'],
        params: FileIdParams,
        response: { 200: FileDeleted, 409: ErrorResponse, ...standardErrors },
      },
    },
    async (request) => {
      const { services } = request.server;
      await services.files.delete(request.principal.organizationId, request.params.file_id, services.fileInUse);
      return { id: request.params.file_id, object: 'file' as const, deleted: true };
    },
  );
};
