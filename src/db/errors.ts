// Database errors that mean "the server cannot be reached right now" (a restart, a failover, a lost
// network) rather than a bug in a query: callers answer the first with 503 or retry it.

/** Connection-level errors of node's sockets and Postgres's SQLSTATE classes 08 (connection) and 57P (shutdown). */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006']);

/** node-postgres reports some connection failures by message only. */
const UNAVAILABLE_MESSAGES = /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect/i;

export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { name?: string; code?: string; message?: string; cause?: unknown };
  // drizzle wraps the driver's error as the cause of its own. Other wrappers (a StorageError around a
  // socket error of the S3 client) are not the database's.
  if (e?.name === 'DrizzleQueryError') return isDatabaseUnavailable(e.cause);
  return (e?.code !== undefined && UNAVAILABLE_CODES.has(e.code)) || UNAVAILABLE_MESSAGES.test(e?.message ?? '');
}
