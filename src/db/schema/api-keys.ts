import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { createdAt } from './columns.ts';
import { organizations } from './organizations.ts';

export const apiKeys = pgTable(
  'api_keys',
  {
    id: text().primaryKey(), // key-…
    organizationId: text().notNull().references(() => organizations.id, { onDelete: 'cascade' }),
    name: text().notNull(),
    /** sha256 of the whole key, hex. The key itself is shown once and never stored. */
    keyHash: text().notNull().unique(),
    /** The first characters of the key, so that a person can tell keys apart in listings. */
    prefix: text().notNull(),
    createdAt: createdAt(),
    revokedAt: timestamp({ withTimezone: true, mode: 'date' }),
  },
  (t) => [index('api_keys_organization_idx').on(t.organizationId)],
);

export type ApiKey = typeof apiKeys.$inferSelect;
export type NewApiKey = typeof apiKeys.$inferInsert;
