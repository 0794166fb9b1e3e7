// Which bucket objects the rows still need: the question the orphan reconciler asks of the database.
import { sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { ACTIVE_STATUSES } from './jobs.ts';

/**
 * The keys among `keys` that no row points to: not a file's object, not under a checkpoint's or a
 * model's prefix, and not under `jobs/{id}/` or `models/{id}/` of a job that is still active (a
 * resumed job writes its checkpoints and its model again before it records them).
 */
export async function unreferencedKeys(db: Db, keys: string[]): Promise<string[]> {
  if (keys.length === 0) return [];
  const values = sql.join(
    keys.map((key) => sql`(${key})`),
    sql`, `,
  );
  const active = sql.join(
    ACTIVE_STATUSES.map((status) => sql`${status}`),
    sql`, `,
  );
  const result = (await db.execute(sql`
    select v.key from (values ${values}) as v(key)
    where not exists (select 1 from files f where f.object_key = v.key)
      and not exists (select 1 from checkpoints c where starts_with(v.key, c.object_prefix))
      and not exists (select 1 from models m where starts_with(v.key, m.object_prefix))
      and not exists (
        select 1 from jobs j
        where split_part(v.key, '/', 1) in ('jobs', 'models') and j.id = split_part(v.key, '/', 2) and j.status in (${active})
      )
  `)) as unknown as { rows: { key: string }[] };
  return result.rows.map((row) => row.key);
}
