// Disk pressure in a worker: the service's data directory is a 24 MiB tmpfs (mounted by the test), and
// a job's 40 MiB dataset cannot be staged on it. The job fails with a reason, the service keeps
// serving, the space is given back, and the next job trains on the same disk.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { type EmbeddedS3, startEmbeddedS3 } from '../../src/storage/embedded-s3.ts';
import { call, chatLine, uploadForm } from '../helpers/http.ts';
import { qaDataset, TINY_LORA, waitForJob } from '../helpers/jobs.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';
import { startServiceProcess, type ServiceProcess } from '../helpers/process.ts';

const run = promisify(execFile);
const KEY = 'sk-glm-disk-pressure-key-000000000000000';
let db: TestDatabase;
let s3: EmbeddedS3;
let service: ServiceProcess;
let small: string;
const dirs: string[] = [];

before(async () => {
  db = await createTestDatabase();
  const s3Dir = mkdtempSync(join(tmpdir(), 'glmtune-s3-'));
  small = mkdtempSync(join(tmpdir(), 'glmtune-small-disk-'));
  dirs.push(s3Dir, small);
  await run('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', small]);
  s3 = await startEmbeddedS3(s3Dir);
  service = await startServiceProcess({
    DATA_DIR: small,
    DATABASE_URL: db.url,
    S3_ENDPOINT: s3.endpoint,
    S3_BUCKET: 'glmtune-disk',
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    GLMTUNE_API_KEY: KEY,
    QUEUE_POLL_MS: '200',
    LOG_LEVEL: 'warn',
  });
});
after(async () => {
  await service?.stop();
  await s3?.close();
  await db?.drop();
  await run('umount', [small]).catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function job(content: string): Promise<string> {
  const file = await call(`${service.url}/v1/files`, { method: 'POST', key: KEY, body: uploadForm(content) });
  assert.equal(file.status, 200, JSON.stringify(file.body));
  const res = await call(`${service.url}/v1/fine_tuning/jobs`, {
    method: 'POST',
    key: KEY,
    json: { model: 'glm-tiny', training_file: file.body.id, hyperparameters: { n_epochs: 1, batch_size: 2 }, tuning: { method: TINY_LORA, max_seq_len: 64 } },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.id;
}

test('a job that cannot be staged on a full disk fails with a reason; the service keeps serving and trains the next job', async () => {
  const line = chatLine('q'.repeat(2000), 'a'.repeat(2000));
  const big = Array.from({ length: 10_000 }, () => line).join('\n'); // ~40 MiB, more than the disk holds
  const failed = await waitForJob(service.url, KEY, await job(big), ['failed'], 120_000);
  assert.equal(failed.error.code, 'disk_full', JSON.stringify(failed.error));
  assert.match(failed.error.message, /ran out of local disk space/);
  assert.equal((await call(`${service.url}/healthz`)).status, 200);
  assert.equal((await call(`${service.url}/v1/files`, { key: KEY })).status, 200, 'the API keeps serving');
  const { stdout } = await run('df', ['--output=used', '-B1', small]);
  assert.ok(Number(stdout.split('\n')[1]) < 16 * 2 ** 20, `the failed job's workspace was removed (${stdout.trim()})`);
  const done = await waitForJob(service.url, KEY, await job(qaDataset()), ['succeeded'], 120_000);
  assert.equal(done.progress.step, 2);
});
