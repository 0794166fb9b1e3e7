// SIGKILL at each point of a job's life, in a loop: every service process is killed without warning
// at its kill point (during an upload, right after a job is queued, while training, while a checkpoint
// is uploaded, while the final model is uploaded, while the result file is stored), and the next one
// starts on the same Postgres and bucket. Points that must be hit exactly are held in place by a proxy
// in front of S3 until the kill. After the last restart every acknowledged job has succeeded with every
// step recorded once, every acknowledged file is there byte for byte, no event is duplicated, and the
// bucket holds nothing that no row points to (the reconciler sweeps what the kills left behind).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { type EmbeddedS3, startEmbeddedS3 } from '../../src/storage/embedded-s3.ts';
import { S3BlobStore } from '../../src/storage/s3.ts';
import { call, chatLine, uploadForm } from '../helpers/http.ts';
import { qaDataset, TINY_LORA, waitForJob } from '../helpers/jobs.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';
import { startServiceProcess, type ServiceProcess } from '../helpers/process.ts';
import { type S3Request, S3Tap } from './helpers/s3-tap.ts';

const KEY = 'sk-glm-kill-points-test-key-00000000000';
const BUCKET = 'glmtune-kill-points';
const STEPS = 40;
let db: TestDatabase;
let s3: EmbeddedS3;
let tap: S3Tap;
const dirs: string[] = [];
const processes: ServiceProcess[] = [];

before(async () => {
  db = await createTestDatabase();
  const s3Dir = mkdtempSync(join(tmpdir(), 'glmtune-s3-'));
  dirs.push(s3Dir);
  s3 = await startEmbeddedS3(s3Dir);
  tap = await S3Tap.start(s3.endpoint);
});
after(async () => {
  for (const p of processes) p.child.kill('SIGKILL');
  await tap.close();
  await s3.close();
  await db.drop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A new service process on the shared database and bucket (through the tap), with a data directory of its own. */
async function startProcess(): Promise<ServiceProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'glmtune-kill-'));
  dirs.push(dataDir);
  const service = await startServiceProcess({
    DATA_DIR: dataDir,
    DATABASE_URL: db.url,
    S3_ENDPOINT: tap.endpoint,
    S3_BUCKET: BUCKET,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    GLMTUNE_API_KEY: KEY,
    JOB_LEASE_SECONDS: '2',
    JOB_MAX_ATTEMPTS: '20', // every kill costs the job it interrupts an attempt
    TRAINER_CONCURRENCY: '3',
    MAX_RUNNING_JOBS_PER_ORG: '3',
    QUEUE_POLL_MS: '200',
    RECONCILE_INTERVAL_SECONDS: '1',
    ORPHAN_GRACE_SECONDS: '1',
    LOG_LEVEL: 'warn',
  });
  processes.push(service);
  return service;
}

async function kill(service: ServiceProcess): Promise<void> {
  assert.equal(await service.stop('SIGKILL'), null, 'killed, not exited');
}

/** What the service acknowledged (answered 200 for): all of it must survive every kill. */
const acknowledged = { files: new Map<string, string>(), jobs: new Set<string>() };

async function upload(service: ServiceProcess, content: string): Promise<string> {
  const res = await call(`${service.url}/v1/files`, { method: 'POST', key: KEY, body: uploadForm(content) });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  acknowledged.files.set(res.body.id, content);
  return res.body.id;
}

async function createJob(service: ServiceProcess, seed: number): Promise<string> {
  const fileId = await upload(service, qaDataset());
  const res = await call(`${service.url}/v1/fine_tuning/jobs`, {
    method: 'POST',
    key: KEY,
    json: {
      model: 'glm-tiny',
      training_file: fileId,
      seed,
      hyperparameters: { n_epochs: STEPS / 4, batch_size: 1 },
      tuning: { method: TINY_LORA, learning_rate: 5e-3, lr_scheduler_type: 'constant', save_steps: 10 },
    },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  acknowledged.jobs.add(res.body.id);
  return res.body.id;
}

const isPut = (prefix: string) => (r: S3Request) => r.method === 'PUT' && r.key.startsWith(prefix);

/** Each kill point: bring a process to it, then SIGKILL it there. */
const killPoints: { name: string; reach(service: ServiceProcess, round: number): Promise<void> }[] = [
  {
    name: 'during an upload (the object is stored, its row not yet committed)',
    async reach(service) {
      await upload(service, chatLine('kept', 'always'));
      const stored = tap.next(isPut('files/'), 'after');
      const cutOff = call(`${service.url}/v1/files`, { method: 'POST', key: KEY, body: uploadForm(chatLine('lost', 'never acknowledged')) }).then(
        (res) => `answered ${res.status}`,
        () => 'connection lost',
      );
      await stored;
      await kill(service);
      assert.equal(await cutOff, 'connection lost', 'the upload was never acknowledged');
      await leftAnOrphan('files/');
    },
  },
  {
    name: 'right after a job was queued',
    async reach(service, round) {
      await createJob(service, round);
      await kill(service);
    },
  },
  {
    name: 'while training (a checkpoint stored, steps beyond it)',
    async reach(service, round) {
      const jobId = await createJob(service, round);
      const deadline = Date.now() + 120_000;
      for (;;) {
        const job = (await call(`${service.url}/v1/fine_tuning/jobs/${jobId}`, { key: KEY })).body;
        const checkpoints = (await call(`${service.url}/v1/fine_tuning/jobs/${jobId}/checkpoints`, { key: KEY })).body.data;
        if (job.status === 'running' && checkpoints.some((c: { step_number: number }) => c.step_number < job.progress.step)) break;
        assert.notEqual(job.status, 'succeeded', 'the job ended before it could be killed');
        assert.ok(Date.now() < deadline, `job ${jobId} did not get to a checkpoint in time`);
        await new Promise((r) => setTimeout(r, 20));
      }
      await kill(service);
    },
  },
  {
    name: 'while a checkpoint is uploaded (part of it stored, no row)',
    async reach(service, round) {
      const stored = tap.next(isPut('jobs/'), 'after');
      await createJob(service, round);
      await stored;
      await kill(service);
      await leftAnOrphan('jobs/');
    },
  },
  {
    name: 'while the final model is uploaded',
    async reach(service, round) {
      const uploading = tap.next(isPut('models/'), 'after');
      await createJob(service, round);
      await uploading;
      await kill(service);
      await leftAnOrphan('models/');
    },
  },
  {
    name: 'while the result file is stored (the model is recorded, the job not yet released)',
    async reach(service, round) {
      // No client uploads from here on: the next files/ object is a job's step_metrics.csv.
      const stored = tap.next(isPut('files/'), 'after');
      acknowledged.jobs.add(await createJobWithoutUpload(service, round));
      await stored;
      await kill(service);
      await leftAnOrphan('files/');
      const recorded = await query(`select j.id from jobs j join models m on m.job_id = j.id and m.checkpoint_step is null where j.status = 'running'`);
      // A job resumed from an earlier kill point may be finishing at the same moment, so at least one.
      assert.ok(recorded.length >= 1, 'killed between recording the model and releasing the job');
    },
  },
];

/** A job on a file uploaded earlier (so that the only files/ PUT to come is a result file). */
async function createJobWithoutUpload(service: ServiceProcess, seed: number): Promise<string> {
  const fileId = [...acknowledged.files.entries()].find(([, content]) => content === qaDataset())![0];
  const res = await call(`${service.url}/v1/fine_tuning/jobs`, {
    method: 'POST',
    key: KEY,
    json: { model: 'glm-tiny', training_file: fileId, seed, hyperparameters: { n_epochs: STEPS / 4, batch_size: 1 }, tuning: { method: TINY_LORA, save_steps: 10 } },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.id;
}

async function query<T>(text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}

/** The kill happened in the window where an object is stored and its row is not (yet). */
async function leftAnOrphan(prefix: string): Promise<void> {
  const orphans = await orphanObjects();
  assert.ok(orphans.some((k) => k.startsWith(prefix)), `the kill left an object under ${prefix} without its row: ${orphans.join(', ')}`);
}

/** Objects that no row points to (what the reconciler must have swept). */
async function orphanObjects(): Promise<string[]> {
  const blobs = new S3BlobStore({ endpoint: s3.endpoint, bucket: BUCKET, region: 'us-east-1', accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, forcePathStyle: true });
  try {
    const keys: string[] = [];
    for await (const o of blobs.list('')) keys.push(o.key);
    const files = new Set((await query<{ object_key: string }>('select object_key from files')).map((r) => r.object_key));
    const prefixes = (await query<{ p: string }>('select object_prefix as p from checkpoints union all select object_prefix from models')).map((r) => r.p);
    return keys.filter((k) => !files.has(k) && !prefixes.some((p) => k.startsWith(p)));
  } finally {
    blobs.close();
  }
}

test('SIGKILL at every point of a job’s life, one process after another: nothing acknowledged is lost, nothing is duplicated', async () => {
  for (const [round, point] of killPoints.entries()) {
    const service = await startProcess();
    await point.reach(service, round + 1).catch((err: Error) => {
      throw new Error(`kill point "${point.name}": ${err.message}\n${service.output().slice(-3000)}`);
    });
  }
  const last = await startProcess();
  try {
    for (const jobId of acknowledged.jobs) {
      const job = await waitForJob(last.url, KEY, jobId, ['succeeded'], 180_000).catch((err: Error) => {
        throw new Error(`${err.message}\n${last.output().slice(-3000)}`);
      });
      assert.equal(job.progress.step, STEPS, jobId);
      assert.equal((await call(`${last.url}/v1/models/${encodeURIComponent(job.fine_tuned_model)}`, { key: KEY })).status, 200, `the model of ${jobId} is served`);
      const events = (await call(`${last.url}/v1/fine_tuning/jobs/${jobId}/events?limit=1000`, { key: KEY })).body.data as { id: string; type: string; message: string; data: { step?: number; train_loss?: number } }[];
      assert.equal(new Set(events.map((e) => e.id)).size, events.length, `${jobId}: no event twice`);
      const steps = events.filter((e) => e.type === 'metrics' && e.data.train_loss !== undefined).map((e) => e.data.step!).sort((a, b) => a - b);
      assert.deepEqual(steps, Array.from({ length: STEPS }, (_, i) => i + 1), `${jobId}: every step recorded exactly once`);
      for (const once of [`Created fine-tuning job: ${jobId}`, 'Fine-tuning job started', 'The job has successfully completed', `New fine-tuned model created: ${job.fine_tuned_model}`]) {
        assert.equal(events.filter((e) => e.message === once).length, 1, `${jobId}: "${once}" once`);
      }
      assert.equal(job.result_files.length, 1);
      assert.equal((await call(`${last.url}/v1/files/${job.result_files[0]}`, { key: KEY })).status, 200, `${jobId}: its result file exists`);
    }
    for (const [fileId, content] of acknowledged.files) {
      const res = await fetch(`${last.url}/v1/files/${fileId}/content`, { headers: { authorization: `Bearer ${KEY}` } });
      assert.equal(res.status, 200, `acknowledged file ${fileId} is there`);
      assert.equal(await res.text(), content, `acknowledged file ${fileId} is intact`);
    }
    const datasets = await query<{ id: string }>(`select id from files where purpose = 'fine-tune'`);
    assert.deepEqual(datasets.map((r) => r.id).sort(), [...acknowledged.files.keys()].sort(), 'no row for the upload that was cut off');
    const results = await query<{ n: string }>(`select count(*) as n from files where purpose = 'fine-tune-results'`);
    assert.equal(Number(results[0].n), acknowledged.jobs.size, 'one result file per job, none left over from a cut-off finalisation');
    const duplicates = await query<{ n: string }>('select count(*) as n from (select job_id, step from checkpoints group by 1, 2 having count(*) > 1) d');
    assert.equal(Number(duplicates[0].n), 0, 'no checkpoint recorded twice');
    // What the kills left in the bucket (a stored upload, part of a checkpoint, a result file) is swept.
    const deadline = Date.now() + 60_000;
    let orphans = await orphanObjects();
    while (orphans.length > 0) {
      assert.ok(Date.now() < deadline, `orphans left in the bucket: ${orphans.join(', ')}`);
      await new Promise((r) => setTimeout(r, 250));
      orphans = await orphanObjects();
    }
  } finally {
    await last.stop();
  }
});
