// Where bytes live: one interface, one implementation (S3). The embedded default is an S3-compatible
// server started in-process, so that the S3 code path is the only storage code.
import type { Readable } from 'node:stream';

export interface BlobInfo {
  key: string;
  size: number;
  lastModified: Date;
}

export interface BlobStore {
  /** Streams body to key (multipart for large bodies). Rejects, leaving no object, when body errors. */
  put(key: string, body: Readable | Buffer | string, options?: { contentType?: string }): Promise<void>;
  /** Throws StorageError('not_found') when the key does not exist. */
  get(key: string): Promise<Readable>;
  head(key: string): Promise<{ size: number } | undefined>;
  delete(key: string): Promise<void>;
  list(prefix: string): AsyncIterable<BlobInfo>;
  /** Resolves when the bucket is reachable. */
  ping(): Promise<void>;
}

export class StorageError extends Error {
  override name = 'StorageError';
  constructor(
    readonly kind: 'not_found' | 'unavailable',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
