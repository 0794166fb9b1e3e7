import { and, desc, eq, gt, lt } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { type JobEventRow, jobEvents, type NewJobEventRow } from '../schema/index.ts';

/** Records an event unless one with the same dedupe key exists for the job; true when it was new. */
export async function insertEvent(db: Db, event: NewJobEventRow): Promise<boolean> {
  const rows = await db.insert(jobEvents).values(event).onConflictDoNothing({ target: [jobEvents.jobId, jobEvents.dedupeKey] }).returning({ id: jobEvents.id });
  return rows.length > 0;
}

export async function findEvent(db: Db, jobId: string, id: string): Promise<JobEventRow | undefined> {
  const [row] = await db.select().from(jobEvents).where(and(eq(jobEvents.jobId, jobId), eq(jobEvents.id, id)));
  return row;
}

/** Newest first (OpenAI's order); `after` is the id of the last event seen, so the page holds older ones. */
export async function listEvents(db: Db, jobId: string, options: { limit: number; afterSeq?: number }): Promise<{ rows: JobEventRow[]; hasMore: boolean }> {
  const rows = await db
    .select()
    .from(jobEvents)
    .where(and(eq(jobEvents.jobId, jobId), options.afterSeq === undefined ? undefined : lt(jobEvents.seq, options.afterSeq)))
    .orderBy(desc(jobEvents.seq))
    .limit(options.limit + 1);
  return { rows: rows.slice(0, options.limit), hasMore: rows.length > options.limit };
}

/** Events newer than `sinceSeq`, oldest first (for live streams). */
export async function eventsSince(db: Db, jobId: string, sinceSeq: number, limit: number): Promise<JobEventRow[]> {
  return db
    .select()
    .from(jobEvents)
    .where(and(eq(jobEvents.jobId, jobId), gt(jobEvents.seq, sinceSeq)))
    .orderBy(jobEvents.seq)
    .limit(limit);
}

/** Every metrics event of a job, oldest first (loss curves). */
export async function metricsEvents(db: Db, jobId: string): Promise<JobEventRow[]> {
  return db
    .select()
    .from(jobEvents)
    .where(and(eq(jobEvents.jobId, jobId), eq(jobEvents.type, 'metrics')))
    .orderBy(jobEvents.seq);
}
