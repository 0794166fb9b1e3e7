// Rate limits per key, request-size limits, and the health, readiness and metrics endpoints.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { call, errorOf } from '../helpers/http.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let svc: TestService;
before(async () => {
  svc = await startTestService({ env: { RATE_LIMIT_PER_MINUTE: '5', GLMTUNE_ADMIN_KEY: 'admin-key-for-the-test-0123456789', MAX_BODY_BYTES: '1024' } });
});
after(async () => {
  await svc.destroy();
});

test('a burst beyond the per-key limit gets 429 in the error shape; other keys and probes are unaffected', async () => {
  const results = await Promise.all(Array.from({ length: 9 }, () => call(`${svc.url}/v1/files`, { key: svc.apiKey })));
  const statuses = results.map((r) => r.status).sort();
  assert.equal(statuses.filter((s) => s === 200).length, 5);
  assert.equal(statuses.filter((s) => s === 429).length, 4);
  const limited = results.find((r) => r.status === 429)!;
  assert.equal(errorOf(limited).code, 'rate_limit_exceeded');
  assert.equal(errorOf(limited).type, 'rate_limit_error');
  assert.ok(limited.headers.get('retry-after'));
  const other = await svc.newOrganization('other');
  assert.equal((await call(`${svc.url}/v1/files`, { key: other })).status, 200);
  for (let i = 0; i < 10; i++) assert.equal((await call(`${svc.url}/healthz`)).status, 200);
});

test('a JSON body over MAX_BODY_BYTES is 413 in the error shape', async () => {
  const res = await call(`${svc.url}/v1/admin/organizations`, {
    method: 'POST',
    key: 'admin-key-for-the-test-0123456789',
    json: { name: 'x'.repeat(5000) },
  });
  assert.equal(res.status, 413);
  assert.equal(errorOf(res).code, 'payload_too_large');
});

test('healthz, readyz and metrics answer without a key', async () => {
  assert.deepEqual((await call(`${svc.url}/healthz`)).body, { status: 'ok' });
  const ready = await call(`${svc.url}/readyz`);
  assert.equal(ready.status, 200);
  assert.equal(ready.body.status, 'ok');
  const metrics = await fetch(`${svc.url}/metrics`);
  const text = await metrics.text();
  assert.match(text, /glmtune_http_requests_total\{method="GET",route="\/v1\/files",status="200"\} \d+/);
  assert.match(text, /glmtune_http_request_duration_seconds_bucket/);
  assert.match(text, /glmtune_jobs\{status="queued"\} 0/, 'queue depth by status');
  assert.ok(!text.includes('file-'), 'routes are labelled by pattern, not by id');
});

test('readyz reports the storage as unavailable, with 503, when the bucket cannot be reached', async () => {
  const broken = await startTestService();
  try {
    await broken.s3!.close();
    const ready = await call(`${broken.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal(ready.body.checks.storage.ok, false);
    assert.equal(ready.body.checks.database.ok, true);
    const list = await call(`${broken.url}/v1/files`, { key: broken.apiKey });
    assert.equal(list.status, 200, 'routes that need only the database keep working');
  } finally {
    await broken.destroy();
  }
});
