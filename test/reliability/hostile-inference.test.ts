// Hostile inference requests against the real service and its inference threads: max_tokens far
// beyond the context, 10,000 stop strings, an enormous n, prompts of millions of characters, a
// million token ids. Each is refused clearly (4xx in the error shape naming the field) or bounded by
// the context, within seconds, and the service answers an ordinary request right after.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { call, errorOf, type Json } from '../helpers/http.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let svc: TestService;
const CONTEXT = 512; // glm-tiny's seq_length

before(async () => {
  svc = await startTestService({ env: { MAX_BODY_BYTES: String(16 * 2 ** 20) } });
});
after(async () => {
  await svc.destroy();
});

const user = (content: string) => [{ role: 'user', content }];

async function timed(path: string, json: unknown): Promise<Json & { ms: number }> {
  const started = Date.now();
  const res = await call(`${svc.url}${path}`, { method: 'POST', key: svc.apiKey, json });
  return { ...res, ms: Date.now() - started };
}

function refused(res: Json & { ms: number }, status: number, param: RegExp | null): void {
  assert.equal(res.status, status, JSON.stringify(res.body).slice(0, 500));
  const error = errorOf(res);
  if (param) assert.match(error.param ?? '', param, error.message);
  assert.ok(res.ms < 10_000, `answered in ${res.ms} ms`);
}

/** The service still answers an ordinary request at once. */
async function stillServing(): Promise<void> {
  const res = await timed('/v1/chat/completions', { model: 'glm-tiny', messages: user('hi'), max_tokens: 4 });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.choices.length, 1);
}

test('max_tokens far beyond the context: bounded by the context or refused, never run past it', async () => {
  for (const [path, body] of [
    ['/v1/chat/completions', { model: 'glm-tiny', messages: user('hi'), max_tokens: 1_000_000_000 }],
    ['/v1/chat/completions', { model: 'glm-tiny', messages: user('hi'), max_completion_tokens: Number.MAX_SAFE_INTEGER }],
    ['/v1/completions', { model: 'glm-tiny', prompt: 'hi', max_tokens: 2 ** 40 }],
  ] as const) {
    const res = await timed(path, body);
    if (res.status === 200) {
      assert.ok(res.body.usage.prompt_tokens + res.body.usage.completion_tokens <= CONTEXT, JSON.stringify(res.body.usage));
      assert.ok(res.ms < 60_000);
    } else {
      // OpenAI's own answer: context_length_exceeded, naming the messages (or prompt) the completion does not fit after.
      refused(res, 400, /^(messages|prompt|max_tokens|max_completion_tokens)$/);
      assert.match(errorOf(res).message, /maximum context length is 512 tokens/);
    }
  }
  // Streamed, the same bound holds and the stream ends.
  const streamed = await fetch(`${svc.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${svc.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'glm-tiny', messages: user('hi'), max_tokens: 10 ** 9, stream: true, stream_options: { include_usage: true } }),
    signal: AbortSignal.timeout(120_000),
  });
  const text = await streamed.text();
  if (streamed.status === 200) {
    assert.match(text, /data: \[DONE\]\s*$/);
    const usage = text.split('\n').filter((l) => l.startsWith('data: {')).map((l) => JSON.parse(l.slice(6))).find((c) => c.usage)?.usage;
    assert.ok(usage && usage.prompt_tokens + usage.completion_tokens <= CONTEXT, text.slice(-500));
  } else assert.equal(streamed.status, 400, text);
  await stillServing();
});

test('10,000 stop strings and an enormous n are refused naming the field', async () => {
  const stops = Array.from({ length: 10_000 }, (_, i) => `stop${i}`);
  refused(await timed('/v1/chat/completions', { model: 'glm-tiny', messages: user('hi'), stop: stops }), 400, /^stop/);
  refused(await timed('/v1/completions', { model: 'glm-tiny', prompt: 'hi', stop: stops }), 400, /^stop/);
  refused(await timed('/v1/chat/completions', { model: 'glm-tiny', messages: user('hi'), n: 1_000_000 }), 400, /^n$/);
  refused(await timed('/v1/completions', { model: 'glm-tiny', prompt: 'hi', n: 2 ** 31 }), 400, /^n$/);
  refused(await timed('/v1/chat/completions', { model: 'glm-tiny', messages: user('hi'), logprobs: true, top_logprobs: 10_000 }), 400, /top_logprobs/);
  await stillServing();
});

test('prompts of millions of characters: refused before any tokenization, in milliseconds; bodies over the limit are 413', async () => {
  const big = 'lorem ipsum '.repeat(300_000); // 3.6 M characters
  refused(await timed('/v1/chat/completions', { model: 'glm-tiny', messages: user(big) }), 400, /messages/);
  refused(await timed('/v1/completions', { model: 'glm-tiny', prompt: big }), 400, /prompt/);
  refused(await timed('/tokenize', { model: 'glm-tiny', prompt: big }), 400, /prompt/);
  refused(await timed('/v1/chat/completions', { model: 'glm-tiny', messages: Array.from({ length: 10_000 }, () => ({ role: 'user', content: 'x'.repeat(300) })) }), 400, /messages/);
  refused(await timed('/v1/completions', { model: 'glm-tiny', prompt: Array.from({ length: 1_000_000 }, () => 7) }), 400, /prompt/);
  refused(await timed('/v1/completions', { model: 'glm-tiny', prompt: 'x'.repeat(20 * 2 ** 20) }), 413, null);
  await stillServing();
});
