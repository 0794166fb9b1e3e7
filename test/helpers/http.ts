// Small helpers for calling the service over real HTTP.

export interface Json {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Headers;
}

export async function call(url: string, init: RequestInit & { key?: string; json?: unknown } = {}): Promise<Json> {
  const headers = new Headers(init.headers);
  if (init.key) headers.set('authorization', `Bearer ${init.key}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(init.json);
  }
  const res = await fetch(url, { ...init, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export function uploadForm(content: string | Uint8Array, options: { filename?: string; purpose?: string | null; fileFirst?: boolean } = {}): FormData {
  const form = new FormData();
  const file = new Blob([content]);
  const purpose = options.purpose === undefined ? 'fine-tune' : options.purpose;
  if (options.fileFirst ?? true) {
    form.append('file', file, options.filename ?? 'train.jsonl');
    if (purpose !== null) form.append('purpose', purpose);
  } else {
    if (purpose !== null) form.append('purpose', purpose);
    form.append('file', file, options.filename ?? 'train.jsonl');
  }
  return form;
}

/** Asserts OpenAI's error shape and returns the error object. */
export function errorOf(res: Json): { message: string; type: string; param: string | null; code: string | null } {
  const e = res.body?.error;
  if (!e || typeof e.message !== 'string' || typeof e.type !== 'string' || !('param' in e) || !('code' in e)) {
    throw new Error(`not an OpenAI error body (status ${res.status}): ${JSON.stringify(res.body)}`);
  }
  return e;
}

export const chatLine = (user: string, assistant: string) =>
  JSON.stringify({ messages: [{ role: 'user', content: user }, { role: 'assistant', content: assistant }] });
