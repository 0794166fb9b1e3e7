import type { z } from 'zod';
import type { FileRow } from '../../../db/schema/index.ts';
import type { FileObject } from '../../schemas/files.ts';

export const unixSeconds = (d: Date): number => Math.floor(d.getTime() / 1000);

export function presentFile(row: FileRow): z.infer<typeof FileObject> {
  return {
    id: row.id,
    object: 'file',
    bytes: row.bytes,
    created_at: unixSeconds(row.createdAt),
    filename: row.filename,
    purpose: row.purpose as z.infer<typeof FileObject>['purpose'],
    status: row.status as z.infer<typeof FileObject>['status'],
    status_details: row.statusDetails,
    sha256: row.sha256,
    format: row.format,
    examples: row.examples,
    characters: row.characters,
    validation: row.validationErrors ? { errors: row.validationErrors, error_count: row.errorCount } : null,
  };
}
