// The S3 server stopped at the worst moments (it is really stopped, then started again on the same
// port and directory): during an upload the caller gets 503 and neither a row nor an object is left;
// during a checkpoint upload the job retries with backoff and carries on when S3 is back, or fails
// with a clear reason when it stays down — and the service keeps serving throughout.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { type EmbeddedS3, startEmbeddedS3 } from '../../src/storage/embedded-s3.ts';
import { call, chatLine, errorOf, uploadForm } from '../helpers/http.ts';
import { qaDataset, TINY_LORA, waitForJob } from '../helpers/jobs.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { S3Tap } from './helpers/s3-tap.ts';

let s3Dir: string;
let s3: EmbeddedS3;
let tap: S3Tap;
let svc: TestService;

before(async () => {
  s3Dir = mkdtempSync(join(tmpdir(), 'glmtune-s3-outage-'));
  s3 = await startEmbeddedS3(s3Dir);
  tap = await S3Tap.start(s3.endpoint);
  svc = await startTestService({ worker: true, s3, s3Endpoint: tap.endpoint, env: { JOB_LEASE_SECONDS: '30' } });
});
after(async () => {
  await svc.destroy();
  await tap.close();
  await s3.close();
  rmSync(s3Dir, { recursive: true, force: true });
});

async function stopS3(): Promise<void> {
  await s3.close();
}

/** The same S3 server again: same port, same directory, so everything stored before is back. */
async function startS3(): Promise<void> {
  s3 = await startEmbeddedS3(s3Dir, Number(new URL(s3.endpoint).port));
}

async function objectKeys(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of svc.services.blobs.list(prefix)) keys.push(o.key);
  return keys;
}

async function fileRows(): Promise<string[]> {
  const client = new pg.Client({ connectionString: svc.database!.url });
  await client.connect();
  try {
    return (await client.query('select id from files order by id')).rows.map((r) => r.id);
  } finally {
    await client.end();
  }
}

/** A multipart upload whose body stops after `head` bytes of the file until `resume` resolves. */
function pausedUpload(content: Buffer, head: number, resume: Promise<void>): Promise<Response> {
  const boundary = 'glmtuneBoundary7MA4YWxk';
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(encoder.encode(`--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nfine-tune\r\n`));
      controller.enqueue(encoder.encode(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="train.jsonl"\r\nContent-Type: application/octet-stream\r\n\r\n`));
      controller.enqueue(content.subarray(0, head));
      await resume;
      controller.enqueue(content.subarray(head));
      controller.enqueue(encoder.encode(`\r\n--${boundary}--\r\n`));
      controller.close();
    },
  });
  return fetch(`${svc.url}/v1/files`, {
    method: 'POST',
    headers: { authorization: `Bearer ${svc.apiKey}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
    body,
    duplex: 'half',
  } as RequestInit);
}

async function expect503(res: Response, what: string): Promise<void> {
  const body = await res.json();
  assert.equal(res.status, 503, `${what}: ${JSON.stringify(body)}`);
  const error = errorOf({ status: res.status, body, headers: res.headers });
  assert.equal(error.code, 'service_unavailable');
  assert.match(error.message, /Storage is unavailable/);
}

test('S3 stopped in the middle of a small upload: 503, and neither a file row nor an object is left', async () => {
  const rowsBefore = await fileRows();
  const content = Buffer.from(Array.from({ length: 200 }, (_, i) => chatLine(`q${i}`, `a${i}`)).join('\n'));
  let resume!: () => void;
  const response = pausedUpload(content, 1000, new Promise((r) => (resume = r)));
  await stopS3();
  resume();
  await expect503(await response, 'upload while S3 is down');
  await startS3();
  assert.deepEqual(await fileRows(), rowsBefore, 'no row for the refused upload');
  assert.deepEqual(await objectKeys('files/'), rowsBefore.map((id) => `files/${id}`), 'no object for the refused upload');
  const again = await call(`${svc.url}/v1/files`, { method: 'POST', key: svc.apiKey, body: uploadForm(content) });
  assert.equal(again.status, 200, 'uploads work again once S3 is back');
});

test('S3 stopped after the first part of a multipart upload was stored: 503, no row, no object', async () => {
  const rowsBefore = await fileRows();
  const line = chatLine('x'.repeat(500), 'y'.repeat(500));
  const content = Buffer.from(Array.from({ length: 20_000 }, () => line).join('\n')); // ~20 MiB: three parts
  const firstPart = tap.next((r) => r.method === 'PUT' && r.query.get('partNumber') === '1', 'after');
  const response = call(`${svc.url}/v1/files`, { method: 'POST', key: svc.apiKey, body: uploadForm(content) });
  const held = await firstPart; // S3 has stored part 1
  await stopS3();
  held.release();
  const res = await response;
  assert.equal(res.status, 503, JSON.stringify(res.body));
  assert.equal(errorOf(res).code, 'service_unavailable');
  await startS3();
  assert.deepEqual(await fileRows(), rowsBefore, 'no row for the refused upload');
  assert.deepEqual(await objectKeys('files/'), rowsBefore.map((id) => `files/${id}`), 'no object for the refused upload');
});

async function startJob(saveSteps: number): Promise<string> {
  const file = await call(`${svc.url}/v1/files`, { method: 'POST', key: svc.apiKey, body: uploadForm(qaDataset()) });
  assert.equal(file.status, 200, JSON.stringify(file.body));
  const job = await call(`${svc.url}/v1/fine_tuning/jobs`, {
    method: 'POST',
    key: svc.apiKey,
    json: {
      model: 'glm-tiny',
      training_file: file.body.id,
      seed: 5,
      hyperparameters: { n_epochs: 10, batch_size: 1 }, // 40 steps
      tuning: { method: TINY_LORA, learning_rate: 5e-3, save_steps: saveSteps },
    },
  });
  assert.equal(job.status, 200, JSON.stringify(job.body));
  return job.body.id;
}

const checkpointPut = (jobId: string) => (r: { method: string; key: string }) => r.method === 'PUT' && r.key.startsWith(`jobs/${jobId}/checkpoints/`);

test('S3 stopped during a checkpoint upload and back a little later: the job retries with backoff and succeeds', async () => {
  const seenBefore = tap.seen.length;
  const jobId = await startJob(10);
  const first = await tap.next(checkpointPut(jobId));
  await stopS3();
  first.cut();
  // The worker keeps trying while S3 is down (the SDK's own attempts, then the worker's backoff)…
  await tap.seenAtLeast((r) => tap.seen.indexOf(r) >= seenBefore && checkpointPut(jobId)(r), 4);
  await startS3();
  // …and the next attempt, with S3 back, stores the checkpoint.
  const done = await waitForJob(svc.url, svc.apiKey, jobId, ['succeeded']);
  assert.equal(done.progress.step, 40);
  const checkpoints = (await call(`${svc.url}/v1/fine_tuning/jobs/${jobId}/checkpoints`, { key: svc.apiKey })).body.data;
  assert.deepEqual(checkpoints.map((c: { step_number: number }) => c.step_number).sort((a: number, b: number) => a - b), [20, 30, 40], 'the newest three, the one stored through the outage among those before');
  const events = (await call(`${svc.url}/v1/fine_tuning/jobs/${jobId}/events?limit=1000`, { key: svc.apiKey })).body.data;
  assert.ok(events.some((e: { message: string }) => e.message === 'Checkpoint created at step 10'), 'the checkpoint taken during the outage was stored');
});

test('S3 down for good during a checkpoint upload: the job fails with a clear reason, the service keeps serving', async () => {
  const jobId = await startJob(10);
  const first = await tap.next(checkpointPut(jobId));
  await stopS3();
  first.cut();
  try {
    const failed = await waitForJob(svc.url, svc.apiKey, jobId, ['failed'], 120_000);
    assert.equal(failed.error.code, 'checkpoint_upload_failed');
    assert.match(failed.error.message, /checkpoint at step 10/);
    assert.match(failed.error.message, /storage/i);
    assert.equal((await call(`${svc.url}/v1/fine_tuning/jobs/${jobId}`, { key: svc.apiKey })).status, 200, 'reads that need only the database keep working');
    assert.equal((await call(`${svc.url}/healthz`)).status, 200);
  } finally {
    await startS3();
  }
  const ok = await call(`${svc.url}/v1/files`, { method: 'POST', key: svc.apiKey, body: uploadForm(qaDataset()) });
  assert.equal(ok.status, 200, 'the service works again once S3 is back');
});

test('S3 down for good while a job uploads its final model: the job fails with a clear reason', async () => {
  const jobId = await startJob(100); // save_steps beyond the run: the only checkpoint is the final one
  const upload = await tap.next((r) => r.method === 'PUT' && r.key.startsWith(`models/${jobId}/`));
  await stopS3();
  upload.cut();
  try {
    const failed = await waitForJob(svc.url, svc.apiKey, jobId, ['failed'], 120_000);
    assert.equal(failed.error.code, 'storage_unavailable');
    assert.match(failed.error.message, /storage is unavailable/);
    assert.equal(failed.fine_tuned_model, null, 'no model is announced without its weights');
  } finally {
    await startS3();
  }
});
