import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { standardErrors } from '../../schemas/common.ts';
import { FileList, ListFilesQuery } from '../../schemas/files.ts';
import { presentFile } from './present.ts';

export const listFilesRoute: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/files',
    {
      schema: {
        summary: 'List files',
        operationId: 'listFiles',
        tags: ['Files'],
        querystring: ListFilesQuery,
        response: { 200: FileList, ...standardErrors },
      },
    },
    async (request) => {
      const page = await request.server.services.files.list(request.principal.organizationId, request.query);
      const data = page.rows.map(presentFile);
      return {
        object: 'list' as const,
        data,
        first_id: data[0]?.id ?? null,
        last_id: data.at(-1)?.id ?? null,
        has_more: page.hasMore,
      };
    },
  );
};
