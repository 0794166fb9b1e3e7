// Authentication hooks. A route group's index.ts adds the one it needs (api key or admin) for all its routes.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../services/auth.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by requireApiKey for every authenticated route. */
    principal: Principal;
  }
}

export async function requireApiKey(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  request.principal = await request.server.services.auth.authenticate(request.headers.authorization);
}

export async function requireAdmin(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  request.server.services.auth.requireAdmin(request.headers.authorization);
}
