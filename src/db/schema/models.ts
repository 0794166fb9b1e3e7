import { bigint, index, integer, pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt } from './columns.ts';
import { jobs } from './jobs.ts';
import { organizations } from './organizations.ts';

/** Fine-tuned models (base models are folders, not rows): the final result of a job, and each checkpoint. */
export const models = pgTable(
  'models',
  {
    id: text().primaryKey(), // ft:{base}:{org}:{suffix}:{job}[:ckpt-step-N]
    organizationId: text().notNull().references(() => organizations.id, { onDelete: 'cascade' }),
    jobId: text().notNull().references(() => jobs.id, { onDelete: 'cascade' }),
    baseModel: text().notNull(),
    /** full | freeze | lora | qlora | ptuning_v2 */
    method: text().notNull(),
    /** The step of a checkpoint model; null for the job's final model. */
    checkpointStep: integer(),
    /** Prefix of the exported artifact's objects (adapter, prefix or HF-layout model folder). */
    objectPrefix: text().notNull(),
    /** Parameters that were trained (known once the job ends), and the artifact's size in bytes. */
    trainedParameters: bigint({ mode: 'number' }),
    artifactBytes: bigint({ mode: 'number' }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('models_organization_created_idx').on(t.organizationId, t.createdAt)],
);

export type ModelRow = typeof models.$inferSelect;
export type NewModelRow = typeof models.$inferInsert;
