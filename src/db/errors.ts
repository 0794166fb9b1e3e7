import { DrizzleQueryError } from 'drizzle-orm';

// Database errors that mean "the server cannot be reached right now" (a restart, a failover, a lost
// network) rather than a bug in a query: callers answer the first with 503 or retry it.

/** Connection-level errors of node's sockets and Postgres's SQLSTATE classes 08 (connection) and 57P (shutdown). */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006']);

/** node-postgres reports some connection failures by message only. */
const UNAVAILABLE_MESSAGES = /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect/i;

export function isDatabaseUnavailable(err: unknown): boolean {
  // drizzle wraps the driver's error as the cause of its own. Other wrappers (a StorageError around a
  // socket error of the S3 client) are not the database's.
  if (err instanceof DrizzleQueryError) return isDatabaseUnavailable(err.cause);
  const e = err as { code?: string; message?: string };
  return (e?.code !== undefined && UNAVAILABLE_CODES.has(e.code)) || UNAVAILABLE_MESSAGES.test(e?.message ?? '');
}

/** invalid byte sequence (a NUL in text) and untranslatable character (\u0000 in jsonb). */
const UNSTORABLE_TEXT_CODES = new Set(['22021', '22P05']);

/** Postgres refused a string of the request: it holds a character no text column can store (NUL). */
export function isUnstorableText(err: unknown): boolean {
  if (err instanceof DrizzleQueryError) return isUnstorableText(err.cause);
  const code = (err as { code?: string })?.code;
  return code !== undefined && UNSTORABLE_TEXT_CODES.has(code);
}

/**
 * What to log of an error: a failed query's driver error and SQL, never its bound parameters (they
 * hold request data, such as the hash of the API key being looked up).
 */
export function loggableError(err: unknown): { err: unknown; query?: string } {
  return err instanceof DrizzleQueryError ? { err: err.cause, query: err.query } : { err };
}
