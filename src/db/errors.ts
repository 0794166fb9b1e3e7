// Database errors that mean "the server cannot be reached right now" (a restart, a failover, a lost
// network) rather than a bug in a query: callers answer the first with 503 or retry it.

/** Connection-level errors of node's sockets and Postgres's SQLSTATE classes 08 (connection) and 57P (shutdown). */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006']);

/** node-postgres reports some connection failures by message only. */
const UNAVAILABLE_MESSAGES = /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect/i;

export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string; cause?: unknown };
  if (e?.code && UNAVAILABLE_CODES.has(e.code)) return true;
  if (UNAVAILABLE_MESSAGES.test(e?.message ?? '')) return true;
  // drizzle wraps the driver's error as the cause of its own.
  return e?.cause !== undefined && e.cause !== err && isDatabaseUnavailable(e.cause);
}
