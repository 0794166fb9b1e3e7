// Jobs across processes sharing one Postgres and one bucket: a worker killed with SIGKILL mid-training
// loses nothing (the job resumes elsewhere from its last checkpoint and succeeds, no event twice), and
// ROLE=api / ROLE=worker processes split the work.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type EmbeddedS3, startEmbeddedS3 } from '../../src/storage/embedded-s3.ts';
import { call, uploadForm } from '../helpers/http.ts';
import { qaDataset, TINY_LORA, waitForJob } from '../helpers/jobs.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';
import { startServiceProcess } from '../helpers/process.ts';

const KEY = 'sk-glm-processes-test-key-00000000000000';
let db: TestDatabase;
let s3: EmbeddedS3;
const dirs: string[] = [];

before(async () => {
  db = await createTestDatabase();
  const s3Dir = mkdtempSync(join(tmpdir(), 'glmtune-s3-'));
  dirs.push(s3Dir);
  s3 = await startEmbeddedS3(s3Dir);
});
after(async () => {
  await s3.close();
  await db.drop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A service process on the shared database and bucket, with a data directory of its own. */
function serviceEnv(extra: Record<string, string> = {}): Record<string, string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'glmtune-proc-'));
  dirs.push(dataDir);
  return {
    DATA_DIR: dataDir,
    DATABASE_URL: db.url,
    S3_ENDPOINT: s3.endpoint,
    S3_BUCKET: 'glmtune-processes',
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    GLMTUNE_API_KEY: KEY,
    JOB_LEASE_SECONDS: '3',
    QUEUE_POLL_MS: '200',
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

async function newJob(url: string, body: Record<string, unknown>) {
  const file = (await call(`${url}/v1/files`, { method: 'POST', key: KEY, body: uploadForm(qaDataset()) })).body.id;
  const res = await call(`${url}/v1/fine_tuning/jobs`, { method: 'POST', key: KEY, json: { model: 'glm-tiny', training_file: file, seed: 9, ...body } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { job: res.body, file };
}

async function allEvents(url: string, id: string) {
  return (await call(`${url}/v1/fine_tuning/jobs/${id}/events?limit=1000`, { key: KEY })).body.data as { id: string; message: string; type: string; data: { step?: number; train_loss?: number } }[];
}

test('a worker killed with SIGKILL mid-training: the job resumes in another process from its checkpoint and succeeds', async () => {
  const first = await startServiceProcess(serviceEnv());
  const { job, file } = await newJob(first.url, {
    hyperparameters: { n_epochs: 50, batch_size: 1 }, // 200 steps
    tuning: { method: TINY_LORA, learning_rate: 5e-3, lr_scheduler_type: 'constant', save_steps: 20 },
  });
  // Wait for a stored checkpoint and a few steps beyond it, then kill the process without warning.
  const deadline = Date.now() + 90_000;
  let checkpointStep = 0;
  for (;;) {
    const current = (await call(`${first.url}/v1/fine_tuning/jobs/${job.id}`, { key: KEY })).body;
    assert.equal(current.status === 'succeeded', false, 'the job ended before it could be killed: make it longer');
    const cps = (await call(`${first.url}/v1/fine_tuning/jobs/${job.id}/checkpoints`, { key: KEY })).body.data;
    const behind = cps.find((c: { step_number: number }) => c.step_number <= current.progress.step - 3);
    if (current.status === 'running' && behind) {
      checkpointStep = behind.step_number;
      break;
    }
    assert.ok(Date.now() < deadline, `no checkpoint in time (job ${JSON.stringify(current.progress)}):\n${first.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(await first.stop('SIGKILL'), null);

  const second = await startServiceProcess(serviceEnv());
  try {
    const done = await waitForJob(second.url, KEY, job.id, ['succeeded'], 120_000);
    assert.equal(done.progress.step, 200);
    const events = await allEvents(second.url, job.id);
    assert.equal(new Set(events.map((e) => e.id)).size, events.length);
    const messages = events.map((e) => e.message);
    assert.ok(messages.some((m) => m.startsWith("The job's worker stopped responding")), 'the lost worker is reported');
    const resumedAt = messages.map((m) => /^Resuming from the checkpoint at step (\d+)$/.exec(m)).find(Boolean);
    assert.ok(resumedAt && Number(resumedAt[1]) >= checkpointStep, `resumed from a checkpoint at or after step ${checkpointStep}: ${JSON.stringify(messages.slice(0, 8))}`);
    for (const once of ['Fine-tuning job started', 'The job has successfully completed', `Created fine-tuning job: ${job.id}`]) {
      assert.equal(messages.filter((m) => m === once).length, 1, once);
    }
    const steps = events.filter((e) => e.type === 'metrics' && e.data.train_loss !== undefined).map((e) => e.data.step!).sort((a, b) => a - b);
    assert.deepEqual(steps, Array.from({ length: 200 }, (_, i) => i + 1), 'every step recorded exactly once');
    const content = await fetch(`${second.url}/v1/files/${file}/content`, { headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(await content.text(), qaDataset(), 'the dataset is still there');
  } finally {
    await second.stop();
  }
});

test('ROLE=api and ROLE=worker processes split the work: jobs created on the API are trained by the worker', async () => {
  const api = await startServiceProcess(serviceEnv({ ROLE: 'api' }));
  const worker = await startServiceProcess(serviceEnv({ ROLE: 'worker' }));
  try {
    assert.equal((await call(`${worker.url}/v1/files`, { key: KEY })).status, 404, 'a worker serves no API');
    assert.equal((await call(`${worker.url}/readyz`)).status, 200);
    const { job } = await newJob(api.url, {
      hyperparameters: { n_epochs: 2, batch_size: 2 },
      tuning: { method: TINY_LORA, learning_rate: 5e-3 },
    });
    const done = await waitForJob(api.url, KEY, job.id, ['succeeded'], 120_000);
    assert.match(done.fine_tuned_model, /^ft:glm-tiny:default::/);
    const ready = await call(`${worker.url}/readyz`);
    assert.equal(ready.body.compute.backend, 'wasm', 'the worker reports its trainer threads’ backend');
    assert.equal((await call(`${api.url}/readyz`)).body.compute, null, 'the API process trains nothing');
  } finally {
    await Promise.all([api.stop(), worker.stop()]);
  }
});

test('SIGTERM: in-flight work stops cleanly — the running job checkpoints, goes back to the queue and finishes elsewhere', async () => {
  const first = await startServiceProcess(serviceEnv());
  const { job } = await newJob(first.url, {
    hyperparameters: { n_epochs: 50, batch_size: 1 }, // 200 steps
    tuning: { method: TINY_LORA, learning_rate: 5e-3, lr_scheduler_type: 'constant' },
  });
  await waitForJob(first.url, KEY, job.id, ['running']);
  while ((await call(`${first.url}/v1/fine_tuning/jobs/${job.id}`, { key: KEY })).body.progress.step < 5) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await first.stop('SIGTERM'), 0, 'a clean exit');

  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const row = (await client.query('select status, step, locked_by from jobs where id = $1', [job.id])).rows[0];
    assert.equal(row.status, 'queued', 'released to the queue, not left running');
    assert.equal(row.locked_by, null);
    const cps = (await client.query('select step from checkpoints where job_id = $1', [job.id])).rows;
    assert.deepEqual(cps.map((c) => c.step), [row.step], 'a checkpoint at the step where it stopped');
  } finally {
    await client.end();
  }
  const second = await startServiceProcess(serviceEnv({ ROLE: 'worker' }));
  try {
    const api = await startServiceProcess(serviceEnv({ ROLE: 'api' }));
    try {
      const done = await waitForJob(api.url, KEY, job.id, ['succeeded'], 120_000);
      assert.equal(done.progress.step, 200);
      const messages = (await allEvents(api.url, job.id)).map((e) => e.message);
      assert.ok(messages.some((m) => m.startsWith('The worker is shutting down: job re-queued at step')));
    } finally {
      await api.stop();
    }
  } finally {
    await second.stop();
  }
});
