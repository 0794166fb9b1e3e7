// Builds the HTTP application as a Fastify instance; it never listens (server.ts does, tests inject).
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { hashApiKey } from './auth/keys.ts';
import { errors } from './errors.ts';
import { clientErrorHandler, errorHandler, frameworkErrorHandler } from './api/plugins/error-handler.ts';
import { metricsPlugin } from './api/plugins/metrics.ts';
import { adminRoutes } from './api/routes/admin/index.ts';
import { chatRoutes } from './api/routes/chat/index.ts';
import { completionsRoutes } from './api/routes/completions/index.ts';
import { filesRoutes } from './api/routes/files/index.ts';
import { fineTuningRoutes } from './api/routes/fine-tuning/index.ts';
import { healthRoutes } from './api/routes/health/index.ts';
import { modelsRoutes } from './api/routes/models/index.ts';
import { tokenizeRoutes } from './api/routes/tokenize/index.ts';
import { uiRoutes } from './api/routes/ui/index.ts';
import { bearerToken } from './services/auth.ts';
import type { Services } from './services/index.ts';
import { parse } from 'node:querystring';
import { randomBase62 } from './ids.ts';

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}

export const API_VERSION = '0.1.0';

/**
 * Query strings as OpenAI's API takes them: `metadata[key]=value` becomes { metadata: { key: value } }
 * (one level of brackets); everything else as node:querystring parses it.
 */
export function parseQuery(query: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parse(query))) {
    const match = /^([^[\]]+)\[([^[\]]*)\]$/.exec(key);
    if (!match) {
      out[key] = value;
      continue;
    }
    const group = (out[match[1]] ??= {});
    if (typeof group === 'object' && group !== null && !Array.isArray(group)) (group as Record<string, unknown>)[match[2]] = value;
  }
  return out;
}

/** Routes that are never rate limited: probes, documentation and the dashboard's static files. */
const UNLIMITED = /^\/(healthz|readyz|metrics|openapi\.json|docs|ui)(\/|$|\?)/;

export interface AppOptions {
  /** Serve the API under /v1 (false for ROLE=worker, which serves only probes and metrics). */
  api?: boolean;
}

export async function buildApp(services: Services, logger: FastifyBaseLogger, options: AppOptions = {}): Promise<FastifyInstance> {
  const { config } = services;
  const app = Fastify({
    loggerInstance: logger,
    routerOptions: { querystringParser: parseQuery },
    bodyLimit: config.maxBodyBytes,
    requestIdHeader: 'x-request-id',
    genReqId: () => `req_${randomBase62(16)}`,
    trustProxy: false,
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorate('services', services);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  await app.register(errorHandler);
  await app.register(metricsPlugin, { registry: services.metrics });
  await app.register(rateLimit, {
    global: false, // added below as the first hook of every request instead of a hook per route
    max: config.rateLimitPerMinute,
    timeWindow: '1 minute',
    // Per key (hashed, so the limiter's store never holds a secret), else per address.
    keyGenerator: (request) => {
      const token = bearerToken(request.headers.authorization);
      return token ? `key:${hashApiKey(token)}` : `ip:${request.ip}`;
    },
    allowList: (request) => UNLIMITED.test(request.url),
    errorResponseBuilder: (_request, context) => errors.rateLimited(`Rate limit reached: ${context.max} requests per ${context.after}. Try again later.`),
  });
  // Before any route group's authentication hook: callers without a valid key are limited too (per
  // address), so that they cannot make the service look keys up as fast as they can send requests.
  app.addHook('onRequest', app.rateLimit());
  await app.register(multipart, {
    limits: { fileSize: config.maxUploadBytes, files: 2, fields: 10, parts: 12, fieldSize: 1024 },
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'glmtune',
        version: API_VERSION,
        description: 'Fine-tuning as a service for the ChatGLM family. Wire-compatible with OpenAI where the APIs overlap.',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearerAuth: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(healthRoutes);
  if (options.api ?? true) {
    await app.register(
      async (v1) => {
        await v1.register(filesRoutes);
        await v1.register(fineTuningRoutes);
        await v1.register(adminRoutes);
        await v1.register(modelsRoutes);
        await v1.register(chatRoutes);
        await v1.register(completionsRoutes);
      },
      { prefix: '/v1' },
    );
    await app.register(tokenizeRoutes); // vLLM serves these outside /v1
    await app.register(uiRoutes); // the dashboard: static files under /ui/, calling the API above
  }
  await app.ready();
  return app as unknown as FastifyInstance;
}
