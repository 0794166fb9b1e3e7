import { and, desc, eq } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { type ModelRow, models, type NewModelRow } from '../schema/index.ts';

/** Registers a fine-tuned model unless it exists (a retried finalisation). */
export async function insertModel(db: Db, model: NewModelRow): Promise<ModelRow | undefined> {
  const [row] = await db.insert(models).values(model).onConflictDoNothing({ target: models.id }).returning();
  return row;
}

export async function findModel(db: Db, organizationId: string, id: string): Promise<ModelRow | undefined> {
  const [row] = await db.select().from(models).where(and(eq(models.organizationId, organizationId), eq(models.id, id)));
  return row;
}

export async function listModels(db: Db, organizationId: string): Promise<ModelRow[]> {
  return db.select().from(models).where(eq(models.organizationId, organizationId)).orderBy(desc(models.createdAt));
}

export async function deleteModel(db: Db, organizationId: string, id: string): Promise<ModelRow | undefined> {
  const [row] = await db.delete(models).where(and(eq(models.organizationId, organizationId), eq(models.id, id))).returning();
  return row;
}
