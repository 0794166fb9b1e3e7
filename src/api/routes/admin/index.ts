// Admin API: organizations and their keys. Authenticated by GLMTUNE_ADMIN_KEY (or use `npm run admin`).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireAdmin } from '../../plugins/auth.ts';
import { ErrorResponse, standardErrors } from '../../schemas/common.ts';
import { unixSeconds } from '../files/present.ts';

const OrganizationObject = z
  .object({ id: z.string(), object: z.literal('organization'), name: z.string(), created_at: z.number().int() })
  .meta({ id: 'Organization' });
const ApiKeyObject = z
  .object({
    id: z.string(),
    object: z.literal('api_key'),
    organization_id: z.string(),
    name: z.string(),
    prefix: z.string().describe('The first characters of the key.'),
    created_at: z.number().int(),
    revoked_at: z.number().int().nullable(),
  })
  .meta({ id: 'ApiKey' });
const CreatedApiKey = ApiKeyObject.extend({ key: z.string().describe('The secret key, shown this once only.') }).meta({ id: 'CreatedApiKey' });
const Name = z.string().trim().min(1).max(100).regex(/^[\w .@-]+$/, 'use letters, digits, spaces and . _ @ -');
const OrgParams = z.object({ organization_id: z.string().min(1).max(200) });
const errorsWithConflict = { ...standardErrors, 403: ErrorResponse, 409: ErrorResponse };

export const adminRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', requireAdmin);
  const auth = () => app.services.auth;
  const presentOrg = (o: { id: string; name: string; createdAt: Date }) => ({ id: o.id, object: 'organization' as const, name: o.name, created_at: unixSeconds(o.createdAt) });
  const presentKey = (k: { id: string; organizationId: string; name: string; prefix: string; createdAt: Date; revokedAt: Date | null }) => ({
    id: k.id,
    object: 'api_key' as const,
    organization_id: k.organizationId,
    name: k.name,
    prefix: k.prefix,
    created_at: unixSeconds(k.createdAt),
    revoked_at: k.revokedAt ? unixSeconds(k.revokedAt) : null,
  });

  app.post(
    '/admin/organizations',
    {
      schema: {
        summary: 'Create an organization and its first API key',
        operationId: 'adminCreateOrganization',
        tags: ['Admin'],
        body: z.object({ name: Name }).strict(),
        response: { 200: z.object({ organization: OrganizationObject, api_key: CreatedApiKey }), ...errorsWithConflict },
      },
    },
    async (request) => {
      const org = await auth().createOrganization(request.body.name);
      const { key, row } = await auth().createKey(org.id, 'initial');
      return { organization: presentOrg(org), api_key: { ...presentKey(row), key } };
    },
  );
  app.get(
    '/admin/organizations',
    {
      schema: {
        summary: 'List organizations',
        operationId: 'adminListOrganizations',
        tags: ['Admin'],
        response: { 200: z.object({ object: z.literal('list'), data: z.array(OrganizationObject) }), ...errorsWithConflict },
      },
    },
    async () => ({ object: 'list' as const, data: (await auth().listOrganizations()).map(presentOrg) }),
  );
  app.post(
    '/admin/organizations/:organization_id/keys',
    {
      schema: {
        summary: 'Create an API key',
        operationId: 'adminCreateKey',
        tags: ['Admin'],
        params: OrgParams,
        body: z.object({ name: Name }).strict(),
        response: { 200: CreatedApiKey, ...errorsWithConflict },
      },
    },
    async (request) => {
      const { key, row } = await auth().createKey(request.params.organization_id, request.body.name);
      return { ...presentKey(row), key };
    },
  );
  app.get(
    '/admin/organizations/:organization_id/keys',
    {
      schema: {
        summary: 'List the API keys of an organization',
        operationId: 'adminListKeys',
        tags: ['Admin'],
        params: OrgParams,
        response: { 200: z.object({ object: z.literal('list'), data: z.array(ApiKeyObject) }), ...errorsWithConflict },
      },
    },
    async (request) => {
      await auth().getOrganization(request.params.organization_id);
      return { object: 'list' as const, data: (await auth().listKeys(request.params.organization_id)).map(presentKey) };
    },
  );
  app.delete(
    '/admin/organizations/:organization_id/keys/:key_id',
    {
      schema: {
        summary: 'Revoke an API key (effective immediately)',
        operationId: 'adminRevokeKey',
        tags: ['Admin'],
        params: OrgParams.extend({ key_id: z.string().min(1).max(200) }),
        response: { 200: z.object({ id: z.string(), object: z.literal('api_key'), revoked: z.boolean() }), ...errorsWithConflict },
      },
    },
    async (request) => {
      await auth().revokeKey(request.params.organization_id, request.params.key_id);
      return { id: request.params.key_id, object: 'api_key' as const, revoked: true };
    },
  );
};
