// Applies the SQL migrations in migrations/ at start-up. Replicas starting together take a Postgres
// advisory lock first, so exactly one applies them and the others wait and then find nothing to do.
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import type { Database } from './client.ts';

const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations', import.meta.url));
/** Arbitrary constant shared by every glmtune process: the advisory lock's id. */
const MIGRATION_LOCK_ID = 7_413_650_211;

export async function migrate(database: Database): Promise<void> {
  const { migrate: run } =
    database.kind === 'postgres' ? await import('drizzle-orm/node-postgres/migrator') : await import('drizzle-orm/pglite/migrator');
  await database.withConnection(async (db) => {
    await db.execute(sql`select pg_advisory_lock(${MIGRATION_LOCK_ID})`);
    try {
      // The migrators accept any drizzle database of their driver; ours is typed as the common base.
      await (run as (db: unknown, config: { migrationsFolder: string }) => Promise<void>)(db, { migrationsFolder: MIGRATIONS_FOLDER });
    } finally {
      await db.execute(sql`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`);
    }
  });
}
