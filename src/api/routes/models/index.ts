import type { FastifyPluginAsync } from 'fastify';
import { requireApiKey } from '../../plugins/auth.ts';
import { artifactRoutes } from './artifacts.ts';
import { modelRoutes } from './models.ts';

export const modelsRoutes: FastifyPluginAsync = async (app) => {
  app.addHook('onRequest', requireApiKey);
  await app.register(modelRoutes);
  await app.register(artifactRoutes);
};
