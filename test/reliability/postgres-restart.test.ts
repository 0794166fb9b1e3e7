// Postgres restarted under a running service (a cluster of the test's own, stopped and started with
// pg_ctl): while it is down every request that needs it fails fast with 503 in the error shape, the
// process stays up, and afterwards the pool reconnects, the job that was training finishes with every
// step recorded exactly once, and every file uploaded before is still there.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type EmbeddedS3, startEmbeddedS3 } from '../../src/storage/embedded-s3.ts';
import { call, errorOf, uploadForm } from '../helpers/http.ts';
import { QA_PAIRS, qaDataset, TINY_LORA, waitForJob } from '../helpers/jobs.ts';
import { startServiceProcess, type ServiceProcess } from '../helpers/process.ts';
import { startPgCluster, type PgCluster } from './helpers/pg-cluster.ts';

const KEY = 'sk-glm-postgres-restart-key-000000000000';
let cluster: PgCluster;
let s3: EmbeddedS3;
let service: ServiceProcess;
/** Sixteen examples: 50 epochs at batch size 1 are 800 steps, still training when the database comes back. */
const DATASET = qaDataset([...QA_PAIRS, ...QA_PAIRS, ...QA_PAIRS, ...QA_PAIRS]);
const dirs: string[] = [];

before(async () => {
  cluster = await startPgCluster();
  const s3Dir = mkdtempSync(join(tmpdir(), 'glmtune-s3-'));
  const dataDir = mkdtempSync(join(tmpdir(), 'glmtune-proc-'));
  dirs.push(s3Dir, dataDir);
  s3 = await startEmbeddedS3(s3Dir);
  service = await startServiceProcess({
    DATA_DIR: dataDir,
    DATABASE_URL: cluster.url,
    S3_ENDPOINT: s3.endpoint,
    S3_BUCKET: 'glmtune-pg-restart',
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    GLMTUNE_API_KEY: KEY,
    JOB_LEASE_SECONDS: '30',
    QUEUE_POLL_MS: '200',
    LOG_LEVEL: 'warn',
  });
});
after(async () => {
  await service?.stop('SIGKILL');
  await s3?.close();
  await cluster?.destroy();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A request while the database is down: 503 in OpenAI's error shape, answered within `budgetMs`. */
async function expectUnavailable(what: string, request: () => Promise<{ status: number; body: unknown; headers: Headers }>, budgetMs = 6000) {
  const started = Date.now();
  const res = await request();
  const elapsed = Date.now() - started;
  assert.equal(res.status, 503, `${what}: ${JSON.stringify(res.body)}`);
  const error = errorOf(res);
  assert.equal(error.type, 'service_unavailable_error', what);
  assert.equal(error.code, 'service_unavailable', what);
  assert.ok(elapsed < budgetMs, `${what} took ${elapsed} ms: it must fail fast`);
}

test('Postgres restarted while a job trains: 503 fast while down, then the pool reconnects and nothing is lost', async () => {
  const { url } = service;
  const upload = await call(`${url}/v1/files`, { method: 'POST', key: KEY, body: uploadForm(DATASET) });
  assert.equal(upload.status, 200, JSON.stringify(upload.body));
  const fileId = upload.body.id as string;
  const created = await call(`${url}/v1/fine_tuning/jobs`, {
    method: 'POST',
    key: KEY,
    json: {
      model: 'glm-tiny',
      training_file: fileId,
      seed: 3,
      hyperparameters: { n_epochs: 50, batch_size: 1 },
      tuning: { method: TINY_LORA, learning_rate: 5e-3, lr_scheduler_type: 'constant', save_steps: 20 },
    },
  });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const jobId = created.body.id as string;
  await waitForJob(url, KEY, jobId, ['running']);

  const mark = service.output().length;
  await cluster.stop('fast');
  await expectUnavailable('GET /v1/files', () => call(`${url}/v1/files`, { key: KEY }));
  await expectUnavailable('GET a job', () => call(`${url}/v1/fine_tuning/jobs/${jobId}`, { key: KEY }));
  await expectUnavailable('POST /v1/files', () => call(`${url}/v1/files`, { method: 'POST', key: KEY, body: uploadForm(qaDataset()) }));
  await expectUnavailable('POST a job', () =>
    call(`${url}/v1/fine_tuning/jobs`, { method: 'POST', key: KEY, json: { model: 'glm-tiny', training_file: fileId } }),
  );
  const ready = await call(`${url}/readyz`);
  assert.equal(ready.status, 503);
  assert.equal(ready.body.checks.database.ok, false);
  assert.equal((await call(`${url}/healthz`)).status, 200, 'the process itself keeps answering');

  // Stay down until the training job has hit the outage itself (its worker logs a write it could not make).
  const deadline = Date.now() + 60_000;
  while (!service.output().slice(mark).includes(`"job":"${jobId}"`)) {
    assert.ok(Date.now() < deadline, `the job never noticed the outage:\n${service.output().slice(mark, mark + 5000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await cluster.start();
  // The pool reconnects on its own: the first request after the restart already succeeds.
  const list = await call(`${url}/v1/files?purpose=fine-tune`, { key: KEY });
  assert.equal(list.status, 200, JSON.stringify(list.body));
  assert.deepEqual(list.body.data.map((f: { id: string }) => f.id), [fileId], 'the file from before is there; the refused upload left no row');
  assert.equal((await call(`${url}/readyz`)).status, 200);

  const done = await waitForJob(url, KEY, jobId, ['succeeded'], 180_000);
  assert.equal(done.progress.step, 800);
  const events = (await call(`${url}/v1/fine_tuning/jobs/${jobId}/events?limit=1000`, { key: KEY })).body.data as { id: string; type: string; message: string; data: { step?: number; train_loss?: number } }[];
  assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'no event twice');
  const steps = events.filter((e) => e.type === 'metrics' && e.data.train_loss !== undefined).map((e) => e.data.step!).sort((a, b) => a - b);
  assert.deepEqual(steps, Array.from({ length: 800 }, (_, i) => i + 1), 'every step recorded exactly once, those trained while the database was down included');
  const content = await fetch(`${url}/v1/files/${fileId}/content`, { headers: { authorization: `Bearer ${KEY}` } });
  assert.equal(await content.text(), DATASET, 'the dataset is intact');
  const objects: string[] = [];
  const { S3BlobStore } = await import('../../src/storage/s3.ts');
  const blobs = new S3BlobStore({ ...s3, bucket: 'glmtune-pg-restart', region: 'us-east-1', forcePathStyle: true });
  for await (const o of blobs.list('files/')) objects.push(o.key);
  blobs.close();
  assert.equal(objects.filter((k) => !done.result_files.includes(k.slice('files/'.length))).length, 1, `one dataset object (the refused upload left none): ${objects.join(', ')}`);
});
