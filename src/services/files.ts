// Files: datasets streamed into the bucket (with sha256, size and line-by-line validation in the same
// pass), rows in Postgres. Order of writes: object first, then the row that points to it; on failure
// the object is removed, so a rejected upload leaves neither.
import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Db } from '../db/client.ts';
import * as fileRows from '../db/repositories/files.ts';
import type { FileRow } from '../db/schema/index.ts';
import { createDatasetValidator, type DatasetReport } from '../datasets/index.ts';
import { ApiError, errors } from '../errors.ts';
import { newId } from '../ids.ts';
import type { BlobStore } from '../storage/blob-store.ts';

export const UPLOADABLE_PURPOSES = ['fine-tune'] as const;

/** An object that is in the bucket but not yet recorded: commit or discard it. */
export interface StagedUpload {
  id: string;
  organizationId: string;
  filename: string;
  objectKey: string;
  bytes: number;
  sha256: string;
  report: DatasetReport;
}

export interface ListFilesOptions {
  after?: string;
  limit: number;
  order: 'asc' | 'desc';
  purpose?: string;
}

/** A filename as a person gave it, reduced to something safe to store and echo back. */
export function cleanFilename(name: string | undefined): string {
  const base = (name ?? '').split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const cleaned = base.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 255);
  return cleaned || 'upload.jsonl';
}

function summarise(report: DatasetReport): string | null {
  if (report.ok) return null;
  const shown = report.errors.map((e) => e.message);
  const more = report.errorCount > report.errors.length ? ` (and ${report.errorCount - report.errors.length} more errors)` : '';
  return `Invalid training file: ${shown.join('; ')}${more}`;
}

export class FileService {
  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    private readonly maxUploadBytes: number,
  ) {}

  /**
   * Streams an upload into the bucket, hashing, counting and validating it on the way. The stream is
   * expected to end early (with `tooLarge` set by the caller's limit) for oversize files.
   */
  async receive(organizationId: string, filename: string | undefined, source: Readable): Promise<StagedUpload> {
    const id = newId('file');
    const objectKey = `files/${id}`;
    const hash = createHash('sha256');
    const validator = createDatasetValidator();
    let bytes = 0;
    const maxBytes = this.maxUploadBytes;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        if (bytes > maxBytes) {
          done(errors.tooLarge(`The file is larger than the limit of ${maxBytes} bytes.`, 'file'));
          return;
        }
        hash.update(chunk);
        validator.push(chunk);
        done(null, chunk);
      },
    });
    // Wait for both sides to settle, so that no upload is still in flight when the object is removed.
    const results = await Promise.allSettled([
      pipeline(source, meter),
      this.blobs.put(objectKey, meter, { contentType: 'application/jsonl' }),
    ]);
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failures.length > 0) {
      await this.blobs.delete(objectKey).catch(() => undefined);
      // The caller's own mistake (too large, a broken request) explains more than the storage error it caused.
      throw failures.find((e) => e instanceof ApiError) ?? failures[0];
    }
    return {
      id,
      organizationId,
      filename: cleanFilename(filename),
      objectKey,
      bytes,
      sha256: hash.digest('hex'),
      report: validator.finish(),
    };
  }

  /** Records a staged upload. A failure removes the object again. */
  async commit(staged: StagedUpload, purpose: string): Promise<FileRow> {
    try {
      const r = staged.report;
      return await fileRows.insertFile(this.db, {
        id: staged.id,
        organizationId: staged.organizationId,
        filename: staged.filename,
        purpose,
        bytes: staged.bytes,
        sha256: staged.sha256,
        status: r.ok ? 'processed' : 'error',
        statusDetails: summarise(r),
        format: r.format ?? null,
        examples: r.ok ? r.examples : null,
        characters: r.ok ? r.characters : null,
        validationErrors: r.ok ? null : r.errors.map((e) => ({ line: e.line ?? null, message: e.message })),
        errorCount: r.errorCount,
        objectKey: staged.objectKey,
      });
    } catch (err) {
      await this.discard(staged);
      throw err;
    }
  }

  async discard(staged: StagedUpload): Promise<void> {
    await this.blobs.delete(staged.objectKey).catch(() => undefined);
  }

  /** Stores bytes the service produced itself (e.g. a job's result CSV) as a file of the organization. */
  async createInternal(organizationId: string, filename: string, purpose: string, content: Buffer): Promise<FileRow> {
    const id = newId('file');
    const objectKey = `files/${id}`;
    await this.blobs.put(objectKey, content, { contentType: 'text/csv' });
    try {
      return await fileRows.insertFile(this.db, {
        id,
        organizationId,
        filename,
        purpose,
        bytes: content.length,
        sha256: createHash('sha256').update(content).digest('hex'),
        status: 'processed',
        objectKey,
      });
    } catch (err) {
      await this.blobs.delete(objectKey).catch(() => undefined);
      throw err;
    }
  }

  async get(organizationId: string, id: string): Promise<FileRow> {
    const row = await fileRows.findFile(this.db, organizationId, id);
    if (!row) throw errors.notFound('file', id, 'file_id');
    return row;
  }

  async list(organizationId: string, options: ListFilesOptions): Promise<fileRows.FilePage> {
    let after: FileRow | undefined;
    if (options.after) {
      after = await fileRows.findFile(this.db, organizationId, options.after);
      if (!after) throw errors.invalid(`No file found with id '${options.after}' to list after.`, 'after');
    }
    return fileRows.listFiles(this.db, organizationId, { ...options, after });
  }

  async content(organizationId: string, id: string): Promise<{ file: FileRow; body: Readable }> {
    const file = await this.get(organizationId, id);
    return { file, body: await this.blobs.get(file.objectKey) };
  }

  /** Deletes the row first (nothing points at a missing object), then the object. */
  async delete(organizationId: string, id: string, inUse: (fileId: string) => Promise<boolean>): Promise<void> {
    await this.get(organizationId, id);
    if (await inUse(id)) {
      throw errors.conflict(`File '${id}' is used by a fine-tuning job that is queued or running; cancel the job first.`, 'file_id');
    }
    const row = await fileRows.deleteFile(this.db, organizationId, id);
    if (!row) throw errors.notFound('file', id, 'file_id');
    await this.blobs.delete(row.objectKey).catch(() => undefined); // an orphan is swept by the reconciler
  }
}
