import { timestamp } from 'drizzle-orm/pg-core';

/** Creation time, shared by every table. OpenAI's objects report it in Unix seconds. */
export const createdAt = () => timestamp({ withTimezone: true, mode: 'date' }).notNull().defaultNow();
