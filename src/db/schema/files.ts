import { bigint, index, integer, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt } from './columns.ts';
import { organizations } from './organizations.ts';

export interface FileValidationError {
  /** 1-based; null for a problem with the whole file (e.g. it is empty). */
  line: number | null;
  message: string;
}

export const files = pgTable(
  'files',
  {
    id: text().primaryKey(), // file-…
    organizationId: text().notNull().references(() => organizations.id, { onDelete: 'cascade' }),
    filename: text().notNull(),
    purpose: text().notNull(), // fine-tune | fine-tune-results
    bytes: bigint({ mode: 'number' }).notNull(),
    sha256: text().notNull(),
    /** processed | error (validation happens during the upload, so a row is never only "uploaded"). */
    status: text().notNull(),
    statusDetails: text(),
    /** Dataset format detected at upload (openai-chat, alpaca, …); null for result files. */
    format: text(),
    examples: integer(),
    characters: bigint({ mode: 'number' }),
    validationErrors: jsonb().$type<FileValidationError[]>(),
    errorCount: integer().notNull().default(0),
    /** Key of the object in the bucket. */
    objectKey: text().notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('files_organization_created_idx').on(t.organizationId, t.createdAt, t.id)],
);

export type FileRow = typeof files.$inferSelect;
export type NewFileRow = typeof files.$inferInsert;
