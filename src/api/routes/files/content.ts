import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { standardErrors } from '../../schemas/common.ts';
import { FileIdParams } from '../../schemas/files.ts';
import { contentDisposition } from '../../content-disposition.ts';

export const fileContentRoute: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/files/:file_id/content',
    {
      schema: {
        summary: 'Download the content of a file',
        operationId: 'downloadFile',
        tags: ['Files'],
        params: FileIdParams,
        produces: ['application/octet-stream'],
        response: { 200: z.string().meta({ format: 'binary' }).describe('The file, byte for byte.'), ...standardErrors },
      },
      // The 200 body is streamed bytes, not JSON; errors are JSON as everywhere.
      serializerCompiler: ({ httpStatus }) => (data) => (httpStatus === '200' ? (data as string) : JSON.stringify(data)),
    },
    async (request, reply) => {
      const { file, body } = await request.server.services.files.content(request.principal.organizationId, request.params.file_id);
      reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', String(file.bytes))
        .header('content-disposition', contentDisposition(file.filename));
      // A stream, passed through untouched by the serializer above; the schema describes it for the document.
      return reply.send(body as unknown as string);
    },
  );
};
