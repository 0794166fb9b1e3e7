import { and, desc, eq, lt } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { type CheckpointRow, checkpoints, type NewCheckpointRow } from '../schema/index.ts';

/** Records a checkpoint unless that step was recorded already (a step replayed after a resume). */
export async function insertCheckpoint(db: Db, checkpoint: NewCheckpointRow): Promise<CheckpointRow | undefined> {
  const [row] = await db.insert(checkpoints).values(checkpoint).onConflictDoNothing({ target: [checkpoints.jobId, checkpoints.step] }).returning();
  return row;
}

export async function latestCheckpoint(db: Db, jobId: string): Promise<CheckpointRow | undefined> {
  const [row] = await db.select().from(checkpoints).where(eq(checkpoints.jobId, jobId)).orderBy(desc(checkpoints.step)).limit(1);
  return row;
}

/** Newest first; `afterStep` is the step of the last checkpoint seen. */
export async function listCheckpoints(db: Db, jobId: string, options: { limit: number; afterStep?: number }): Promise<{ rows: CheckpointRow[]; hasMore: boolean }> {
  const rows = await db
    .select()
    .from(checkpoints)
    .where(and(eq(checkpoints.jobId, jobId), options.afterStep === undefined ? undefined : lt(checkpoints.step, options.afterStep)))
    .orderBy(desc(checkpoints.step))
    .limit(options.limit + 1);
  return { rows: rows.slice(0, options.limit), hasMore: rows.length > options.limit };
}

export async function findCheckpoint(db: Db, jobId: string, id: string): Promise<CheckpointRow | undefined> {
  const [row] = await db.select().from(checkpoints).where(and(eq(checkpoints.jobId, jobId), eq(checkpoints.id, id)));
  return row;
}

export async function deleteCheckpoint(db: Db, id: string): Promise<void> {
  await db.delete(checkpoints).where(eq(checkpoints.id, id));
}
