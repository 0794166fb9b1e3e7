// Organizations and keys: the admin API (GLMTUNE_ADMIN_KEY), the CLI, revocation taking effect at once.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { call, errorOf } from '../helpers/http.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

const ADMIN_KEY = 'admin-key-for-the-test-0123456789';
const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

let svc: TestService;
before(async () => {
  svc = await startTestService({ env: { GLMTUNE_ADMIN_KEY: ADMIN_KEY } });
});
after(async () => {
  await svc.destroy();
});

test('the admin API creates organizations and keys; a revoked key stops working on the next request', async () => {
  const created = await call(`${svc.url}/v1/admin/organizations`, { method: 'POST', key: ADMIN_KEY, json: { name: 'acme' } });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const { organization, api_key } = created.body;
  assert.match(organization.id, /^org-/);
  assert.match(api_key.key, /^sk-glm-[0-9A-Za-z]{40}$/);
  assert.equal(api_key.prefix, api_key.key.slice(0, 11));

  assert.equal((await call(`${svc.url}/v1/files`, { key: api_key.key })).status, 200);
  const second = await call(`${svc.url}/v1/admin/organizations/${organization.id}/keys`, { method: 'POST', key: ADMIN_KEY, json: { name: 'ci' } });
  assert.equal(second.status, 200);
  const keys = await call(`${svc.url}/v1/admin/organizations/${organization.id}/keys`, { key: ADMIN_KEY });
  assert.equal(keys.body.data.length, 2);
  assert.ok(!JSON.stringify(keys.body).includes(api_key.key), 'listings never show a key');

  const revoked = await call(`${svc.url}/v1/admin/organizations/${organization.id}/keys/${api_key.id}`, { method: 'DELETE', key: ADMIN_KEY });
  assert.equal(revoked.status, 200);
  const after = await call(`${svc.url}/v1/files`, { key: api_key.key });
  assert.equal(after.status, 401);
  assert.equal((await call(`${svc.url}/v1/files`, { key: second.body.key })).status, 200, 'other keys keep working');

  const duplicate = await call(`${svc.url}/v1/admin/organizations`, { method: 'POST', key: ADMIN_KEY, json: { name: 'acme' } });
  assert.equal(duplicate.status, 409);
  assert.equal(errorOf(duplicate).param, 'name');
});

test('the admin API refuses ordinary keys and bad bodies', async () => {
  assert.equal((await call(`${svc.url}/v1/admin/organizations`, { key: svc.apiKey })).status, 401);
  assert.equal((await call(`${svc.url}/v1/admin/organizations`)).status, 401);
  const bad = await call(`${svc.url}/v1/admin/organizations`, { method: 'POST', key: ADMIN_KEY, json: { name: '' } });
  assert.equal(bad.status, 400);
  assert.equal(errorOf(bad).param, 'name');
  const extra = await call(`${svc.url}/v1/admin/organizations`, { method: 'POST', key: ADMIN_KEY, json: { name: 'x', plan: 'gold' } });
  assert.equal(extra.status, 400);
  assert.equal(errorOf(extra).param, 'plan');
  const malformed = await call(`${svc.url}/v1/admin/organizations`, { method: 'POST', key: ADMIN_KEY, headers: { 'content-type': 'application/json' }, body: '{"name":' });
  assert.equal(malformed.status, 400);
  errorOf(malformed);
});

test('npm run admin creates an organization whose key works against the service', async () => {
  let db: TestDatabase | undefined;
  try {
    const env = { ...process.env, DATABASE_URL: svc.database!.url };
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli/admin.ts', 'create-org', 'cli-org'], { cwd: repoRoot, env });
    const key = /api key \(shown once\): (sk-glm-\S+)/.exec(stdout)?.[1];
    assert.ok(key, stdout);
    assert.equal((await call(`${svc.url}/v1/files`, { key })).status, 200);
    const { stdout: orgs } = await run(process.execPath, ['--import', 'tsx', 'src/cli/admin.ts', 'list-orgs'], { cwd: repoRoot, env });
    assert.match(orgs, /\tcli-org\t/);
    // A fresh database is migrated by the CLI itself.
    db = await createTestDatabase();
    const fresh = await run(process.execPath, ['--import', 'tsx', 'src/cli/admin.ts', 'create-org', 'first'], { cwd: repoRoot, env: { ...process.env, DATABASE_URL: db.url } });
    assert.match(fresh.stdout, /organization org-/);
  } finally {
    await db?.drop();
  }
});
