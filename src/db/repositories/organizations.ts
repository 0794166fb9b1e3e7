import { and, eq, isNull } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { type ApiKey, apiKeys, type NewApiKey, type Organization, organizations } from '../schema/index.ts';

export async function findOrganizationByName(db: Db, name: string): Promise<Organization | undefined> {
  const [row] = await db.select().from(organizations).where(eq(organizations.name, name));
  return row;
}

export async function findOrganization(db: Db, id: string): Promise<Organization | undefined> {
  const [row] = await db.select().from(organizations).where(eq(organizations.id, id));
  return row;
}

/** Inserts the organization unless one of that name exists; returns the stored one either way. */
export async function ensureOrganization(db: Db, id: string, name: string): Promise<Organization> {
  await db.insert(organizations).values({ id, name }).onConflictDoNothing({ target: organizations.name });
  const row = await findOrganizationByName(db, name);
  if (!row) throw new Error(`organization ${name} vanished after insert`);
  return row;
}

export async function listOrganizations(db: Db): Promise<Organization[]> {
  return db.select().from(organizations).orderBy(organizations.createdAt);
}

export async function insertApiKey(db: Db, key: NewApiKey): Promise<ApiKey> {
  const [row] = await db.insert(apiKeys).values(key).returning();
  return row;
}

/** Inserts unless a key with that hash exists (idempotent registration of a configured key). */
export async function insertApiKeyIfAbsent(db: Db, key: NewApiKey): Promise<void> {
  await db.insert(apiKeys).values(key).onConflictDoNothing({ target: apiKeys.keyHash });
}

/** The active key with this hash and its organization, or undefined. */
export async function findActiveKeyByHash(db: Db, keyHash: string): Promise<ApiKey | undefined> {
  const [row] = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt)));
  return row;
}

export async function countApiKeys(db: Db): Promise<number> {
  return db.$count(apiKeys);
}

export async function listApiKeys(db: Db, organizationId: string): Promise<ApiKey[]> {
  return db.select().from(apiKeys).where(eq(apiKeys.organizationId, organizationId)).orderBy(apiKeys.createdAt);
}

/** Revokes a key; returns false when no such active key exists in the organization. */
export async function revokeApiKey(db: Db, organizationId: string, keyId: string): Promise<boolean> {
  const rows = await db
    .update(apiKeys)
    .set({ revokedAt: new Date() })
    .where(and(eq(apiKeys.id, keyId), eq(apiKeys.organizationId, organizationId), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  return rows.length > 0;
}
