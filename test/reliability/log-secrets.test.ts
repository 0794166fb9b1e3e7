// Secrets never reach the logs: the service runs as its own process at the most verbose level, is
// called with good, wrong, revoked and admin keys, mints keys, trains a job and goes through a database
// outage and a storage outage (whose errors carry driver and SDK objects); then everything it printed
// is scanned for every key, the bearer scheme, the database password and S3 request signatures.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type EmbeddedS3, startEmbeddedS3 } from '../../src/storage/embedded-s3.ts';
import { call, uploadForm } from '../helpers/http.ts';
import { qaDataset, TINY_LORA, waitForJob } from '../helpers/jobs.ts';
import { startServiceProcess, type ServiceProcess } from '../helpers/process.ts';
import { startPgCluster, type PgCluster } from './helpers/pg-cluster.ts';

const KEY = 'sk-glm-log-secrets-configured-key-000001';
const ADMIN_KEY = 'sk-glm-log-secrets-admin-key-0000000002';
const WRONG_KEY = 'sk-glm-log-secrets-wrong-key-0000000003';
const DB_PASSWORD = 'db-pa55word-that-must-not-leak';
let cluster: PgCluster;
let s3Dir: string;
let s3: EmbeddedS3;
let service: ServiceProcess;
const dirs: string[] = [];

before(async () => {
  cluster = await startPgCluster();
  s3Dir = mkdtempSync(join(tmpdir(), 'glmtune-s3-'));
  const dataDir = mkdtempSync(join(tmpdir(), 'glmtune-proc-'));
  dirs.push(s3Dir, dataDir);
  s3 = await startEmbeddedS3(s3Dir);
  // Trust authentication ignores the password, but the client holds it like any other.
  const url = new URL(cluster.url);
  url.password = DB_PASSWORD;
  service = await startServiceProcess({
    DATA_DIR: dataDir,
    DATABASE_URL: url.toString(),
    S3_ENDPOINT: s3.endpoint,
    S3_BUCKET: 'glmtune-log-secrets',
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    GLMTUNE_API_KEY: KEY,
    GLMTUNE_ADMIN_KEY: ADMIN_KEY,
    LOG_LEVEL: 'trace',
    QUEUE_POLL_MS: '200',
  });
});
after(async () => {
  await service?.stop('SIGKILL');
  await s3?.close();
  await cluster?.destroy();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('no key, bearer header, database password or S3 signature appears in the logs, through errors and outages', async () => {
  const { url } = service;
  const minted: string[] = [];
  // Keys good, wrong, malformed and revoked; the admin key; keys minted by the admin API.
  assert.equal((await call(`${url}/v1/files`, { key: KEY })).status, 200);
  assert.equal((await call(`${url}/v1/files`, { key: WRONG_KEY })).status, 401);
  assert.equal((await call(`${url}/v1/files`, { headers: { authorization: `Basic ${Buffer.from(`user:${WRONG_KEY}`).toString('base64')}` } })).status, 401);
  const org = await call(`${url}/v1/admin/organizations`, { method: 'POST', key: ADMIN_KEY, json: { name: 'logged' } });
  assert.equal(org.status, 200);
  minted.push(org.body.api_key.key);
  const second = await call(`${url}/v1/admin/organizations/${org.body.organization.id}/keys`, { method: 'POST', key: ADMIN_KEY, json: { name: 'second' } });
  minted.push(second.body.key);
  await call(`${url}/v1/admin/organizations/${org.body.organization.id}/keys/${org.body.api_key.id}`, { method: 'DELETE', key: ADMIN_KEY });
  assert.equal((await call(`${url}/v1/files`, { key: minted[0] })).status, 401);
  assert.equal((await call(`${url}/v1/admin/organizations`, { key: minted[1] })).status, 401);

  // A job trains (worker logs), with an Idempotency-Key.
  const file = await call(`${url}/v1/files`, { method: 'POST', key: minted[1], body: uploadForm(qaDataset()) });
  const job = await call(`${url}/v1/fine_tuning/jobs`, {
    method: 'POST',
    key: minted[1],
    headers: { 'idempotency-key': 'log-secrets-1' },
    json: { model: 'glm-tiny', training_file: file.body.id, hyperparameters: { n_epochs: 1, batch_size: 2 }, tuning: { method: TINY_LORA } },
  });
  await waitForJob(url, minted[1], job.body.id, ['succeeded']);

  // A storage outage: the S3 client's errors (which carry its requests) are logged.
  await s3.close();
  assert.equal((await call(`${url}/v1/files/${file.body.id}/content`, { key: KEY })).status, 404, "another organization's file");
  assert.equal((await call(`${url}/v1/files/${file.body.id}/content`, { key: minted[1] })).status, 503);
  assert.equal((await call(`${url}/v1/files`, { method: 'POST', key: minted[1], body: uploadForm(qaDataset()) })).status, 503);
  s3 = await startEmbeddedS3(s3Dir, Number(new URL(s3.endpoint).port));

  // A database outage: the pool's errors (which carry the client and its connection settings) are logged.
  await cluster.stop('fast');
  assert.equal((await call(`${url}/v1/files`, { key: KEY })).status, 503);
  assert.equal((await call(`${url}/v1/fine_tuning/jobs`, { key: minted[1] })).status, 503);
  await cluster.start();
  assert.equal((await call(`${url}/v1/files`, { key: KEY })).status, 200);

  const logs = service.output();
  assert.ok(logs.length > 10_000, `the service logged (${logs.length} characters)`);
  assert.match(logs, /"level":10/, 'trace-level lines are there');
  assert.match(logs, /service_unavailable|unavailable/, 'the outages were logged');
  for (const [what, secret] of [
    ['the configured key', KEY],
    ['the admin key', ADMIN_KEY],
    ['a wrong key', WRONG_KEY],
    ['a minted key', minted[0]],
    ['another minted key', minted[1]],
    ['the database password', DB_PASSWORD],
    ['a wrong key in Basic auth', Buffer.from(`user:${WRONG_KEY}`).toString('base64')],
  ] as const) {
    assert.ok(!logs.includes(secret), `${what} appears in the logs`);
    assert.ok(!logs.includes(secret.slice(8, 30)), `part of ${what} appears in the logs`);
  }
  for (const pattern of [/Bearer\s/i, /Basic\s+[A-Za-z0-9+/=]{8}/, /AWS4-HMAC-SHA256/, /Signature=[0-9a-f]{16}/, /"authorization":"(?!\[redacted\])/i]) {
    assert.doesNotMatch(logs, pattern);
  }
});
