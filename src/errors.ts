// One error type for the whole service: a stable code, an HTTP status and OpenAI's error body.

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'conflict_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'service_unavailable_error';

export interface ErrorBody {
  error: { message: string; type: ErrorType; param: string | null; code: string | null };
}

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }

  toBody(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** Factories: one per kind of failure, so that codes stay stable and messages consistent. */
export const errors = {
  invalid: (message: string, param: string | null = null, code = 'invalid_value') =>
    new ApiError(400, 'invalid_request_error', code, message, param),
  missingKey: () =>
    new ApiError(401, 'authentication_error', 'missing_api_key',
      'You did not provide an API key. Send it in the Authorization header as "Bearer <key>".'),
  invalidKey: () => new ApiError(401, 'authentication_error', 'invalid_api_key', 'Incorrect API key provided.'),
  forbidden: (message: string) => new ApiError(403, 'permission_error', 'forbidden', message),
  notFound: (what: string, id: string, param: string | null = null) =>
    new ApiError(404, 'invalid_request_error', 'not_found', `No ${what} found with id '${id}'.`, param),
  routeNotFound: (method: string, url: string) =>
    new ApiError(404, 'invalid_request_error', 'unknown_url', `Unknown request URL: ${method} ${url}.`),
  conflict: (message: string, param: string | null = null) =>
    new ApiError(409, 'conflict_error', 'conflict', message, param),
  tooLarge: (message: string, param: string | null = null) =>
    new ApiError(413, 'invalid_request_error', 'payload_too_large', message, param),
  unsupportedMediaType: (message: string) =>
    new ApiError(415, 'invalid_request_error', 'unsupported_media_type', message),
  rateLimited: (message: string) => new ApiError(429, 'rate_limit_error', 'rate_limit_exceeded', message),
  unavailable: (what: string) =>
    new ApiError(503, 'service_unavailable_error', 'service_unavailable', `${what} is unavailable right now; try again shortly.`),
  internal: () => new ApiError(500, 'server_error', 'internal_error', 'The server had an error while processing your request.'),
};

/** A field path as callers write it: `messages[0].role` from ['messages', 0, 'role']. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part)), '');
}
