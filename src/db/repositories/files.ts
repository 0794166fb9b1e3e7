import { and, asc, desc, eq, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { type FileRow, files, type NewFileRow } from '../schema/index.ts';

export async function insertFile(db: Db, file: NewFileRow): Promise<FileRow> {
  const [row] = await db.insert(files).values(file).returning();
  return row;
}

/** A file of this organization, or undefined — another organization's file is indistinguishable from none. */
export async function findFile(db: Db, organizationId: string, id: string): Promise<FileRow | undefined> {
  const [row] = await db
    .select()
    .from(files)
    .where(and(eq(files.organizationId, organizationId), eq(files.id, id)));
  return row;
}

export interface FilePage {
  rows: FileRow[];
  hasMore: boolean;
}

/**
 * One page of an organization's files ordered by (created_at, id), starting after the cursor row.
 * Fetches limit + 1 rows to know whether more exist.
 */
export async function listFiles(
  db: Db,
  organizationId: string,
  options: { limit: number; order: 'asc' | 'desc'; after?: FileRow; purpose?: string },
): Promise<FilePage> {
  const conditions: (SQL | undefined)[] = [eq(files.organizationId, organizationId)];
  if (options.purpose) conditions.push(eq(files.purpose, options.purpose));
  if (options.after) {
    // The cursor row's created_at is compared in SQL: Postgres keeps microseconds, a JS Date only
    // milliseconds, and rows made in the same millisecond would repeat or go missing across pages.
    const cursor = sql`(select ${files.createdAt}, ${files.id} from ${files} where ${files.id} = ${options.after.id})`;
    conditions.push(options.order === 'desc' ? sql`(${files.createdAt}, ${files.id}) < ${cursor}` : sql`(${files.createdAt}, ${files.id}) > ${cursor}`);
  }
  const direction = options.order === 'desc' ? desc : asc;
  const rows = await db
    .select()
    .from(files)
    .where(and(...conditions))
    .orderBy(direction(files.createdAt), direction(files.id))
    .limit(options.limit + 1);
  return { rows: rows.slice(0, options.limit), hasMore: rows.length > options.limit };
}

/** Deletes the row; returns it, or undefined when it did not exist in the organization. */
export async function deleteFile(db: Db, organizationId: string, id: string): Promise<FileRow | undefined> {
  const [row] = await db
    .delete(files)
    .where(and(eq(files.organizationId, organizationId), eq(files.id, id)))
    .returning();
  return row;
}
