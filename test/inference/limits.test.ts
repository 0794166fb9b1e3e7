// Serving under pressure, on glm-tiny: a generation past INFERENCE_TIMEOUT_MS is stopped and answered
// with 504 (or an error event when streaming), requests beyond INFERENCE_MAX_PENDING are refused with
// 503 at once, and the HTTP event loop answers other requests while generations run.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { call, errorOf } from '../helpers/http.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let svc: TestService;
let client: OpenAI;

before(async () => {
  svc = await startTestService({ env: { INFERENCE_TIMEOUT_MS: '400', INFERENCE_MAX_PENDING: '2' } });
  client = new OpenAI({ baseURL: `${svc.url}/v1`, apiKey: svc.apiKey, maxRetries: 0 });
  await client.chat.completions.create({ model: 'glm-tiny', messages: [{ role: 'user', content: 'warm up' }], max_tokens: 1 });
});
after(() => svc.destroy());

/** A generation that runs far longer than the timeout: glm-tiny never stops by itself with ignore_eos. */
const long = (extra: object = {}) => ({ model: 'glm-tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 500, n: 16, ignore_eos: true, ...extra });

test('a generation that outlives INFERENCE_TIMEOUT_MS is stopped: 504, or an error event ending the stream', async () => {
  const ended = new Promise<{ completionTokens: number }>((resolve) => svc.services.inference.once('generation-ended', resolve));
  const res = await call(`${svc.url}/v1/chat/completions`, { key: svc.apiKey, method: 'POST', json: long() });
  assert.equal(res.status, 504);
  assert.equal(errorOf(res).code, 'timeout');
  assert.match(errorOf(res).message, /400 ms \(INFERENCE_TIMEOUT_MS\)/);
  assert.ok((await ended).completionTokens < 16 * 500, 'the thread stopped generating');

  const streamEnded = new Promise((resolve) => svc.services.inference.once('generation-ended', resolve));
  const stream = await client.chat.completions.create({ ...long(), stream: true } as OpenAI.ChatCompletionCreateParamsStreaming);
  let chunks = 0;
  await assert.rejects(
    (async () => {
      for await (const _chunk of stream) chunks++;
    })(),
    (err: unknown) => err instanceof OpenAI.APIError && /INFERENCE_TIMEOUT_MS/.test(err.message),
  );
  assert.ok(chunks > 0, 'tokens were streamed before the timeout');
  await streamEnded;
  assert.equal(svc.services.inference.stats().pending, 0);
});

test('beyond INFERENCE_MAX_PENDING requests are refused with 503 at once; the event loop keeps answering while generations run', async () => {
  const running = [call(`${svc.url}/v1/chat/completions`, { key: svc.apiKey, method: 'POST', json: long() }), call(`${svc.url}/v1/chat/completions`, { key: svc.apiKey, method: 'POST', json: long() })];
  await new Promise<void>((resolve) => {
    const check = () => (svc.services.inference.stats().pending === 2 ? resolve() : setImmediate(check));
    check();
  });
  const refused = await call(`${svc.url}/v1/chat/completions`, { key: svc.apiKey, method: 'POST', json: long() });
  assert.equal(refused.status, 503);
  assert.equal(errorOf(refused).code, 'server_busy');
  const health = await call(`${svc.url}/healthz`);
  assert.equal(health.status, 200);
  assert.equal(svc.services.inference.stats().pending, 2, 'answered while both generations were still running');
  for (const res of await Promise.all(running)) assert.equal(res.status, 504);
});
