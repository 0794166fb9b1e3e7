// Structured logs (pino). Secrets never reach them: requests are logged without headers, and these
// paths are redacted wherever they appear.
import type { LoggerOptions } from 'pino';

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: {
      // `*.headers.authorization`: @fastify/multipart logs its busboy options, request headers included, at trace level.
      paths: ['req.headers.authorization', 'headers.authorization', '*.headers.authorization', 'authorization', '*.authorization', 'key', '*.key', 'apiKey', '*.apiKey'],
      censor: '[redacted]',
    },
  };
}
