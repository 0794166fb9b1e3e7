import type { FastifyPluginAsync } from 'fastify';
import { requireApiKey } from '../../plugins/auth.ts';
import { historyRoutes } from './history.ts';
import { jobRoutes } from './jobs.ts';

export const fineTuningRoutes: FastifyPluginAsync = async (app) => {
  app.addHook('onRequest', requireApiKey);
  await app.register(jobRoutes);
  await app.register(historyRoutes);
};
