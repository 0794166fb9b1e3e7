// Named queries over jobs: creation and reads for the API, and the queue (claim, heartbeat, release,
// reap). Every status change is one UPDATE guarded by the statuses it may start from, so two processes
// can never both move a job.
import { and, asc, desc, eq, inArray, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { type JobRow, type JobStatus, jobs, type NewJobRow } from '../schema/index.ts';

export const ACTIVE_STATUSES: JobStatus[] = ['validating_files', 'queued', 'running', 'paused'];
export const FINAL_STATUSES: JobStatus[] = ['succeeded', 'failed', 'cancelled'];

/** Any transaction-scoped advisory lock id shared by every claimer: claims are serialised. */
const CLAIM_LOCK_ID = 7_413_650_212;

export async function insertJob(db: Db, job: NewJobRow): Promise<JobRow> {
  const [row] = await db.insert(jobs).values(job).returning();
  return row;
}

export async function findJob(db: Db, organizationId: string, id: string): Promise<JobRow | undefined> {
  const [row] = await db.select().from(jobs).where(and(eq(jobs.organizationId, organizationId), eq(jobs.id, id)));
  return row;
}

export async function findJobById(db: Db, id: string): Promise<JobRow | undefined> {
  const [row] = await db.select().from(jobs).where(eq(jobs.id, id));
  return row;
}

export async function findJobByIdempotencyKey(db: Db, organizationId: string, key: string): Promise<JobRow | undefined> {
  const [row] = await db.select().from(jobs).where(and(eq(jobs.organizationId, organizationId), eq(jobs.idempotencyKey, key)));
  return row;
}

/** One page, newest first, after the cursor job; `metadata` entries must all match. */
export async function listJobs(
  db: Db,
  organizationId: string,
  options: { limit: number; after?: JobRow; metadata?: Record<string, string> },
): Promise<{ rows: JobRow[]; hasMore: boolean }> {
  const conditions: (SQL | undefined)[] = [eq(jobs.organizationId, organizationId)];
  if (options.after) {
    // Compared in SQL: a JS Date drops created_at's microseconds (see listFiles).
    conditions.push(sql`(${jobs.createdAt}, ${jobs.id}) < (select ${jobs.createdAt}, ${jobs.id} from ${jobs} where ${jobs.id} = ${options.after.id})`);
  }
  if (options.metadata && Object.keys(options.metadata).length > 0) {
    conditions.push(sql`${jobs.metadata} @> ${JSON.stringify(options.metadata)}::jsonb`);
  }
  const rows = await db
    .select()
    .from(jobs)
    .where(and(...conditions))
    .orderBy(desc(jobs.createdAt), desc(jobs.id))
    .limit(options.limit + 1);
  return { rows: rows.slice(0, options.limit), hasMore: rows.length > options.limit };
}

/** Moves a job between statuses; undefined when it was not in one of `from` (someone else moved it). */
export async function transition(
  db: Db,
  id: string,
  from: JobStatus[],
  to: JobStatus,
  changes: Partial<NewJobRow> = {},
): Promise<JobRow | undefined> {
  const [row] = await db
    .update(jobs)
    .set({ ...changes, status: to })
    .where(and(eq(jobs.id, id), inArray(jobs.status, from)))
    .returning();
  return row;
}

/** True while a job that has not finished uses the file as training or validation data. */
export async function fileUsedByActiveJob(db: Db, fileId: string): Promise<boolean> {
  const [row] = await db
    .select({ id: jobs.id })
    .from(jobs)
    .where(and(or(eq(jobs.trainingFile, fileId), eq(jobs.validationFile, fileId)), inArray(jobs.status, ACTIVE_STATUSES)))
    .limit(1);
  return row !== undefined;
}

/** Jobs waiting for their files to be checked, oldest first. */
export async function jobsValidatingFiles(db: Db, limit: number): Promise<JobRow[]> {
  return db.select().from(jobs).where(eq(jobs.status, 'validating_files')).orderBy(asc(jobs.createdAt)).limit(limit);
}

/**
 * Claims the next queued job for `workerId`, in one transaction: fair across organizations (the
 * organization with the fewest running jobs first, then the oldest job), never past an organization's
 * limit of running jobs. Claims are serialised by an advisory lock so the limit holds across processes.
 */
export async function claimNextJob(db: Db, workerId: string, leaseSeconds: number, perOrganizationLimit: number): Promise<JobRow | undefined> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${CLAIM_LOCK_ID})`);
    const runningOfOrg = sql`(select count(*) from jobs r where r.organization_id = ${jobs.organizationId} and r.status = 'running')`;
    // Two statements, not UPDATE … WHERE id IN (SELECT … LIMIT 1 FOR UPDATE): Postgres may run such a
    // subquery once per row and claim every queued job. The advisory lock makes the pair atomic.
    const [next] = await tx
      .select({ id: jobs.id })
      .from(jobs)
      .where(and(eq(jobs.status, 'queued'), sql`${jobs.runAfter} <= now()`, sql`${runningOfOrg} < ${perOrganizationLimit}`))
      .orderBy(runningOfOrg, asc(jobs.createdAt))
      .limit(1)
      .for('update', { skipLocked: true });
    if (!next) return undefined;
    const [row] = await tx
      .update(jobs)
      .set({
        status: 'running',
        lockedBy: workerId,
        lockedUntil: sql`now() + make_interval(secs => ${leaseSeconds})`,
        heartbeatAt: sql`now()`,
        attempts: sql`${jobs.attempts} + 1`,
        startedAt: sql`coalesce(${jobs.startedAt}, now())`,
      })
      .where(and(eq(jobs.id, next.id), eq(jobs.status, 'queued')))
      .returning();
    return row;
  });
}

export interface LeaseState {
  cancelRequested: boolean;
  pauseRequested: boolean;
}

/** A job's stop requests alone (polled often while it trains). */
export async function stopRequests(db: Db, id: string): Promise<LeaseState | undefined> {
  const [row] = await db.select({ cancelRequested: jobs.cancelRequested, pauseRequested: jobs.pauseRequested }).from(jobs).where(eq(jobs.id, id));
  return row;
}

/** Renews the lease; undefined when this worker no longer holds the job (it was reaped or finished). */
export async function heartbeat(db: Db, id: string, workerId: string, leaseSeconds: number, progress: Partial<NewJobRow> = {}): Promise<LeaseState | undefined> {
  const [row] = await db
    .update(jobs)
    .set({ ...progress, lockedUntil: sql`now() + make_interval(secs => ${leaseSeconds})`, heartbeatAt: sql`now()` })
    .where(and(eq(jobs.id, id), eq(jobs.lockedBy, workerId), eq(jobs.status, 'running')))
    .returning({ cancelRequested: jobs.cancelRequested, pauseRequested: jobs.pauseRequested });
  return row;
}

/** Ends this worker's hold on a running job with a new status; undefined if it does not hold it. */
export async function release(db: Db, id: string, workerId: string, to: JobStatus, changes: Partial<NewJobRow> = {}): Promise<JobRow | undefined> {
  const [row] = await db
    .update(jobs)
    .set({ ...changes, status: to, lockedBy: null, lockedUntil: null })
    .where(and(eq(jobs.id, id), eq(jobs.lockedBy, workerId), eq(jobs.status, 'running')))
    .returning();
  return row;
}

/**
 * Running jobs whose lease expired (their worker died): back to the queue to resume from their latest
 * checkpoint after a backoff, or failed once they have used up their attempts.
 */
export async function reapExpiredLeases(db: Db, maxAttempts: number, backoffSeconds: number): Promise<{ requeued: JobRow[]; failed: JobRow[] }> {
  const expired = and(eq(jobs.status, 'running'), lt(jobs.lockedUntil, sql`now()`));
  const failed = await db
    .update(jobs)
    .set({
      status: 'failed',
      lockedBy: null,
      lockedUntil: null,
      finishedAt: sql`now()`,
      error: { code: 'worker_lost', message: `The job's worker stopped responding ${maxAttempts} times; giving up.`, param: null },
    })
    .where(and(expired, sql`${jobs.attempts} >= ${maxAttempts}`))
    .returning();
  const requeued = await db
    .update(jobs)
    .set({ status: 'queued', lockedBy: null, lockedUntil: null, runAfter: sql`now() + make_interval(secs => ${backoffSeconds} * ${jobs.attempts})` })
    .where(and(expired, sql`${jobs.attempts} < ${maxAttempts}`))
    .returning();
  return { requeued, failed };
}

/** Sets a control flag on a running job; the worker sees it at its next heartbeat. */
export async function requestOnRunning(db: Db, organizationId: string, id: string, flag: 'cancelRequested' | 'pauseRequested'): Promise<JobRow | undefined> {
  const [row] = await db
    .update(jobs)
    .set({ [flag]: true })
    .where(and(eq(jobs.organizationId, organizationId), eq(jobs.id, id), eq(jobs.status, 'running')))
    .returning();
  return row;
}
