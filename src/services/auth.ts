// Who is calling: bearer API keys that belong to organizations, and the admin key from config.
import * as orgs from '../db/repositories/organizations.ts';
import type { Db } from '../db/client.ts';
import type { ApiKey, Organization } from '../db/schema/index.ts';
import { displayPrefix, generateApiKey, hashApiKey, secretsEqual } from '../auth/keys.ts';
import { errors } from '../errors.ts';
import { newId } from '../ids.ts';

export interface Principal {
  organizationId: string;
  keyId: string;
}

export const DEFAULT_ORGANIZATION = 'default';

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

export class AuthService {
  constructor(
    private readonly db: Db,
    private readonly adminKey: string | undefined,
  ) {}

  /** Resolves the caller's key; 401 when it is missing, unknown or revoked (checked on every request). */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    const token = bearerToken(authorization);
    if (!token) throw errors.missingKey();
    const key = await orgs.findActiveKeyByHash(this.db, hashApiKey(token));
    if (!key) throw errors.invalidKey();
    return { organizationId: key.organizationId, keyId: key.id };
  }

  /** 401/403 unless the caller presents the admin key from config. */
  requireAdmin(authorization: string | undefined): void {
    const token = bearerToken(authorization);
    if (!token) throw errors.missingKey();
    if (!this.adminKey) throw errors.forbidden('The admin API is disabled: set GLMTUNE_ADMIN_KEY, or use `npm run admin`.');
    if (!secretsEqual(token, this.adminKey)) throw errors.invalidKey();
  }

  async createOrganization(name: string): Promise<Organization> {
    if (await orgs.findOrganizationByName(this.db, name)) throw errors.conflict(`An organization named '${name}' exists already.`, 'name');
    return orgs.ensureOrganization(this.db, newId('org'), name);
  }

  async getOrganization(id: string): Promise<Organization> {
    const org = await orgs.findOrganization(this.db, id);
    if (!org) throw errors.notFound('organization', id, 'organization_id');
    return org;
  }

  /** Makes a new key; the plaintext is returned once and never stored. */
  async createKey(organizationId: string, name: string): Promise<{ key: string; row: ApiKey }> {
    await this.getOrganization(organizationId);
    const key = generateApiKey();
    const row = await orgs.insertApiKey(this.db, {
      id: newId('key'),
      organizationId,
      name,
      keyHash: hashApiKey(key),
      prefix: displayPrefix(key),
    });
    return { key, row };
  }

  async revokeKey(organizationId: string, keyId: string): Promise<void> {
    if (!(await orgs.revokeApiKey(this.db, organizationId, keyId))) throw errors.notFound('active API key', keyId, 'key_id');
  }

  listKeys(organizationId: string): Promise<ApiKey[]> {
    return orgs.listApiKeys(this.db, organizationId);
  }

  listOrganizations(): Promise<Organization[]> {
    return orgs.listOrganizations(this.db);
  }

  /**
   * First start: the default organization exists; GLMTUNE_API_KEY, when set, is one of its keys; and
   * when `mintIfNone` (embedded defaults) and no key exists at all, a key is made and returned so the
   * caller can show it once.
   */
  async bootstrap(configuredKey: string | undefined, mintIfNone: boolean): Promise<string | undefined> {
    const org = await orgs.ensureOrganization(this.db, newId('org'), DEFAULT_ORGANIZATION);
    if (configuredKey) {
      await orgs.insertApiKeyIfAbsent(this.db, {
        id: newId('key'),
        organizationId: org.id,
        name: 'GLMTUNE_API_KEY',
        keyHash: hashApiKey(configuredKey),
        prefix: displayPrefix(configuredKey),
      });
      return undefined;
    }
    if (mintIfNone && (await orgs.countApiKeys(this.db)) === 0) {
      return (await this.createKey(org.id, 'first-start')).key;
    }
    return undefined;
  }
}
