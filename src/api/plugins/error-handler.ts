// The one place where failures become responses: every error leaves as OpenAI's error shape with the
// right status. Driver and SDK errors are told apart here only by kind (unavailable vs. a bug).
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isDatabaseUnavailable, isUnstorableText, loggableError } from '../../db/errors.ts';
import { ApiError, errors, formatPath } from '../../errors.ts';
import { StorageError } from '../../storage/blob-store.ts';

/** One entry of `err.validation` as fastify-type-provider-zod builds it from a zod issue. */
interface ValidationEntry {
  keyword: string;
  instancePath: string;
  message: string;
  params?: { keys?: string[] };
}

function validationError(err: FastifyError): ApiError {
  const first = (err.validation ?? [])[0] as unknown as ValidationEntry | undefined;
  const where = { querystring: 'query parameter', params: 'path parameter', headers: 'header' }[err.validationContext as string] ?? 'field';
  if (!first) return errors.invalid(err.message);
  // '/messages/0/role' → ['messages', 0, 'role']
  const segments: PropertyKey[] = first.instancePath
    .split('/')
    .filter((p) => p !== '')
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  if (first.keyword === 'unrecognized_keys' && first.params?.keys?.length) {
    const path = formatPath([...segments, first.params.keys[0]]);
    return errors.invalid(`Unrecognized ${where} '${path}'.`, path, 'unknown_parameter');
  }
  const path = formatPath(segments);
  if (!path) return errors.invalid(`Invalid request ${err.validationContext ?? 'body'}: ${first.message}`);
  return errors.invalid(`Invalid ${where} '${path}': ${first.message}`, path);
}

/** Maps anything thrown to an ApiError; undefined means "a bug": answer 500 and log it. */
export function toApiError(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  const fe = err as FastifyError;
  if (hasZodFastifySchemaValidationErrors(fe)) return validationError(fe);
  if (err instanceof StorageError) return err.kind === 'unavailable' ? errors.unavailable('Storage') : undefined;
  if (isDatabaseUnavailable(err)) return errors.unavailable('The database');
  if (isUnstorableText(err)) return errors.invalid('The request holds a character that cannot be stored (such as \\u0000).', null, 'invalid_characters');
  const status = fe?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    switch (fe.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
      case 'FST_REQ_FILE_TOO_LARGE':
      case 'FST_PARTS_LIMIT':
      case 'FST_FILES_LIMIT':
      case 'FST_FIELDS_LIMIT':
        return errors.tooLarge(fe.message);
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return errors.unsupportedMediaType(fe.message);
      default:
        if (status === 429) return errors.rateLimited(fe.message);
        if (status === 404) return new ApiError(404, 'invalid_request_error', 'not_found', fe.message);
        return new ApiError(status, 'invalid_request_error', 'invalid_request', fe.message);
    }
  }
  return undefined;
}

export const errorHandler = fp(async (app: FastifyInstance) => {
  app.setErrorHandler((err, request, reply) => {
    const apiError = toApiError(err);
    if (!apiError) {
      request.log.error(loggableError(err), 'unhandled error');
      const internal = errors.internal();
      return reply.status(internal.status).send(internal.toBody());
    }
    if (apiError.status >= 500) request.log.warn(loggableError(err), apiError.message);
    return reply.status(apiError.status).send(apiError.toBody());
  });
  app.setNotFoundHandler((request, reply) => {
    const e = errors.routeNotFound(request.method, request.url.split('?')[0]);
    return reply.status(e.status).send(e.toBody());
  });
});

/** What Fastify refuses before routing (a URL with broken percent-encoding): the same error shape. */
export function frameworkErrorHandler(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const e = errors.invalid(err.message, null, 'invalid_url');
  void reply.status(e.status).send(e.toBody());
}

/**
 * What Node's HTTP parser refuses before Fastify sees a request (headers too large, a malformed
 * request line, a request that took too long): the same error shape, then the connection closes.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed || socket.writableEnded) return; // gone, or answered already
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const code = status === 431 ? 'headers_too_large' : status === 408 ? 'request_timeout' : 'malformed_request';
  const body = JSON.stringify(new ApiError(status, 'invalid_request_error', code, `${STATUS_CODES[status]}: the request could not be read.`).toBody());
  // On a kept-alive connection earlier answers were written already; what matters is that none is
  // being written now (Node's server keeps the response in progress on the socket).
  if (!(socket as Socket & { _httpMessage?: unknown })._httpMessage) {
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  } else {
    socket.end(); // a response had begun: it cannot be followed by another
  }
  // Drop what the client is still sending (the rest of its headers), so that closing the connection
  // does not reset it before the client has read the answer.
  socket.resume();
  socket.setTimeout(5000, () => socket.destroy());
}
