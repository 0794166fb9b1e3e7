// Calls the service's public API with the user's key, as any other client would.
import { keyStore } from '../key-store.ts';

/** An error answer of the API (OpenAI's shape), or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The request field the error is about, as a path: "tuning.method.r". */
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

let onUnauthorized: () => void = () => {};
/** What happens when the key is refused (revoked, or mistyped): the app asks for it again. */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

export function authHeaders(key = keyStore.get()): Record<string, string> {
  return key ? { authorization: `Bearer ${key}` } : {};
}

/** Turns a non-2xx response into an ApiError (and a 401 of the stored key into a new key prompt). */
export async function errorFrom(response: Response, storedKey = true): Promise<ApiError> {
  let body: { error?: { message?: string; param?: string | null; code?: string | null } } = {};
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's page, say): the status line is all there is.
  }
  const error = new ApiError(response.status, body.error?.message ?? `${response.status} ${response.statusText}`, body.error?.param ?? null, body.error?.code ?? null);
  if (response.status === 401 && storedKey) onUnauthorized();
  return error;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
  /** Use this key instead of the stored one (checking a key before storing it). */
  key?: string;
}

/** A fetch to the API that throws ApiError on failure; the raw Response for streams and downloads. */
export async function request(path: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = authHeaders(options.key);
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, `The service did not answer: ${(err as Error).message}`);
  }
  if (!response.ok) throw await errorFrom(response, options.key === undefined);
  return response;
}

/** A JSON call. */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  return (await request(path, options)).json() as Promise<T>;
}

/** A path segment from an id that may hold ':' or '/' (fine-tuned model ids do). */
export const seg = encodeURIComponent;
