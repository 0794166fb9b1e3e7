// Rate and size limits under a burst of concurrent requests: a key gets exactly its quota and the rest
// 429 in the error shape with Retry-After while other keys are untouched; callers without a key are
// limited by address; concurrent oversized uploads and bodies are all 413 and leave no row or object.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { call, chatLine, errorOf, uploadForm } from '../helpers/http.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

const LIMIT = 40;
let svc: TestService;

before(async () => {
  svc = await startTestService({ env: { RATE_LIMIT_PER_MINUTE: String(LIMIT), MAX_UPLOAD_BYTES: String(2 ** 20), MAX_BODY_BYTES: String(64 * 1024) } });
});
after(async () => {
  await svc.destroy();
});

function tally(statuses: number[]): Record<number, number> {
  return statuses.reduce<Record<number, number>>((t, s) => ({ ...t, [s]: (t[s] ?? 0) + 1 }), {});
}

test('a burst of 200 concurrent requests on one key: exactly the quota passes, the rest is 429; other keys are untouched', async () => {
  const other = await svc.newOrganization('burst-other');
  const [burst, bystander] = await Promise.all([
    Promise.all(Array.from({ length: 200 }, () => call(`${svc.url}/v1/files`, { key: svc.apiKey }))),
    Promise.all(Array.from({ length: 10 }, () => call(`${svc.url}/v1/fine_tuning/jobs`, { key: other }))),
  ]);
  assert.deepEqual(tally(burst.map((r) => r.status)), { 200: LIMIT, 429: 200 - LIMIT });
  for (const res of burst.filter((r) => r.status === 429)) {
    assert.equal(errorOf(res).code, 'rate_limit_exceeded');
    assert.ok(Number(res.headers.get('retry-after')) > 0);
  }
  assert.deepEqual(tally(bystander.map((r) => r.status)), { 200: 10 });
  assert.equal((await call(`${svc.url}/healthz`)).status, 200, 'probes are never limited');
});

test('without a key, a burst is limited by address', async () => {
  const burst = await Promise.all(Array.from({ length: 120 }, () => call(`${svc.url}/v1/files`)));
  const counts = tally(burst.map((r) => r.status));
  assert.deepEqual(counts, { 401: LIMIT, 429: 120 - LIMIT });
  for (const res of burst) errorOf(res);
});

test('concurrent oversized uploads and bodies are all 413, and none leaves a row or an object', async () => {
  const keys = await Promise.all([svc.newOrganization('burst-uploads'), svc.newOrganization('burst-bodies')]);
  const big = Array.from({ length: 30_000 }, (_, i) => chatLine(`q${i}`, 'a')).join('\n'); // > 1 MiB
  assert.ok(Buffer.byteLength(big) > 2 ** 20);
  const [uploads, bodies] = await Promise.all([
    Promise.all(Array.from({ length: 20 }, () => call(`${svc.url}/v1/files`, { method: 'POST', key: keys[0], body: uploadForm(big) }))),
    Promise.all(Array.from({ length: 20 }, () => call(`${svc.url}/v1/fine_tuning/jobs`, { method: 'POST', key: keys[1], json: { model: 'glm-tiny', training_file: 'x'.repeat(100 * 1024) } }))),
  ]);
  assert.deepEqual(tally(uploads.map((r) => r.status)), { 413: 20 });
  assert.deepEqual(tally(bodies.map((r) => r.status)), { 413: 20 });
  for (const res of [...uploads, ...bodies]) assert.equal(errorOf(res).code, 'payload_too_large');
  const client = new pg.Client({ connectionString: svc.database!.url });
  await client.connect();
  try {
    assert.equal(Number((await client.query('select count(*) as n from files')).rows[0].n), 0, 'no file row');
    assert.equal(Number((await client.query('select count(*) as n from jobs')).rows[0].n), 0, 'no job row');
  } finally {
    await client.end();
  }
  const objects: string[] = [];
  for await (const o of svc.services.blobs.list('')) objects.push(o.key);
  assert.deepEqual(objects, [], 'no object');
});
