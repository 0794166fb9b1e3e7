import type { FastifyPluginAsync } from 'fastify';
import { requireApiKey } from '../../plugins/auth.ts';
import { fileContentRoute } from './content.ts';
import { createFileRoute } from './create.ts';
import { deleteFileRoute } from './delete.ts';
import { listFilesRoute } from './list.ts';
import { retrieveFileRoute } from './retrieve.ts';

export const filesRoutes: FastifyPluginAsync = async (app) => {
  app.addHook('onRequest', requireApiKey);
  await app.register(createFileRoute);
  await app.register(listFilesRoute);
  await app.register(retrieveFileRoute);
  await app.register(fileContentRoute);
  await app.register(deleteFileRoute);
};
