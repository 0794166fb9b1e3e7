// Domain metrics for /metrics: the queue's depth by status, read from the database at scrape time.
import { count, inArray } from 'drizzle-orm';
import { Gauge, type Registry } from 'prom-client';
import type { Db } from '../db/client.ts';
import { ACTIVE_STATUSES } from '../db/repositories/jobs.ts';
import { jobs } from '../db/schema/index.ts';

export function registerQueueMetrics(registry: Registry, db: Db): void {
  new Gauge({
    name: 'glmtune_jobs',
    help: 'Fine-tuning jobs that have not finished, by status (all organizations).',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const rows = await db.select({ status: jobs.status, n: count() }).from(jobs).where(inArray(jobs.status, ACTIVE_STATUSES)).groupBy(jobs.status);
      for (const status of ACTIVE_STATUSES) this.set({ status }, rows.find((r) => r.status === status)?.n ?? 0);
    },
  });
}
