import { pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt } from './columns.ts';

export const organizations = pgTable('organizations', {
  id: text().primaryKey(), // org-…
  name: text().notNull().unique(),
  createdAt: createdAt(),
});

export type Organization = typeof organizations.$inferSelect;
export type NewOrganization = typeof organizations.$inferInsert;
