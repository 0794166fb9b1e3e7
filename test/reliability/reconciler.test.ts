// The orphan reconciler: objects that no row points to (what a crash between storing an object and
// committing its row leaves behind) are swept once older than the grace period; everything a row
// points to, everything of a job that is still active, young objects and foreign prefixes stay.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { OrphanReconciler } from '../../src/services/reconciler.ts';
import { call, uploadForm } from '../helpers/http.ts';
import { qaDataset, TINY_LORA, waitForJob } from '../helpers/jobs.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let svc: TestService;
const log = pino({ level: 'silent' });

before(async () => {
  svc = await startTestService({ worker: true });
});
after(async () => {
  await svc.destroy();
});

async function allKeys(): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of svc.services.blobs.list('')) keys.push(o.key);
  return keys.sort();
}

function reconciler(graceMs: number, intervalMs = 3_600_000): OrphanReconciler {
  return new OrphanReconciler(svc.services.database.db, svc.services.blobs, { graceMs, intervalMs, log });
}

async function createJob(fileId: string, seed: number): Promise<string> {
  const res = await call(`${svc.url}/v1/fine_tuning/jobs`, {
    method: 'POST',
    key: svc.apiKey,
    json: { model: 'glm-tiny', training_file: fileId, seed, hyperparameters: { n_epochs: 5, batch_size: 1 }, tuning: { method: TINY_LORA, save_steps: 10 } },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.id;
}

test('orphans are swept after the grace period; what rows point to, active jobs’ objects and foreign keys stay', async () => {
  const file = (await call(`${svc.url}/v1/files`, { method: 'POST', key: svc.apiKey, body: uploadForm(qaDataset()) })).body;
  const finished = await createJob(file.id, 1);
  await waitForJob(svc.url, svc.apiKey, finished, ['succeeded']);
  await svc.worker!.stop(); // nothing trains from here on: the paused job below stays paused
  const active = await createJob(file.id, 2);
  assert.equal((await call(`${svc.url}/v1/fine_tuning/jobs/${active}/pause`, { method: 'POST', key: svc.apiKey })).status, 200);

  const { blobs } = svc.services;
  const orphans = [
    'files/file-orphanOfAnUploadCutOff0000', // stored, then the process died before the row was committed
    `jobs/${finished}/checkpoints/17/export/adapter_model.safetensors`, // a checkpoint upload cut off before its row
    'models/ftjob-noSuchJob000000000000000/adapter_config.json', // a model of a job that does not exist
  ];
  const kept = [
    `jobs/${active}/checkpoints/5/export/adapter_model.safetensors`, // an active job may still record it
    'backups/not-ours.bin', // outside the prefixes glmtune writes
  ];
  for (const key of [...orphans, ...kept]) await blobs.put(key, Buffer.from('x'));
  const before = await allKeys();
  const referenced = before.filter((k) => !orphans.includes(k) && !kept.includes(k));
  assert.ok(referenced.includes(`files/${file.id}`) && referenced.some((k) => k.startsWith(`models/${finished}/`)) && referenced.some((k) => k.startsWith(`jobs/${finished}/checkpoints/10/`)));

  assert.deepEqual(await reconciler(3_600_000).sweep(), [], 'nothing younger than the grace period is swept');
  assert.deepEqual((await reconciler(0).sweep()).sort(), [...orphans].sort(), 'exactly the orphans are swept');
  assert.deepEqual(await allKeys(), [...referenced, ...kept].sort());

  // What the rows point to still works.
  const content = await fetch(`${svc.url}/v1/files/${file.id}/content`, { headers: { authorization: `Bearer ${svc.apiKey}` } });
  assert.equal(await content.text(), qaDataset());

  // Once the paused job is cancelled (final), its unrecorded checkpoint is an orphan too.
  assert.equal((await call(`${svc.url}/v1/fine_tuning/jobs/${active}/cancel`, { method: 'POST', key: svc.apiKey })).status, 200);
  assert.deepEqual(await reconciler(0).sweep(), [kept[0]]);
});

test('started, the reconciler sweeps on its own every interval', async () => {
  const key = 'files/file-orphanForThePeriodicSweep00';
  await svc.services.blobs.put(key, Buffer.from('x'));
  const periodic = reconciler(0, 100);
  periodic.start();
  try {
    const deadline = Date.now() + 30_000;
    while (await svc.services.blobs.head(key)) {
      assert.ok(Date.now() < deadline, 'the orphan was not swept');
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await periodic.stop();
  }
});

test('on embedded defaults (PGlite and the embedded S3 server) the same sweep works', async () => {
  const embedded = await startTestService({ mode: 'embedded' });
  try {
    const file = (await call(`${embedded.url}/v1/files`, { method: 'POST', key: embedded.apiKey, body: uploadForm(qaDataset()) })).body;
    await embedded.services.blobs.put('files/file-orphanOnEmbeddedDefaults00', Buffer.from('x'));
    const sweep = new OrphanReconciler(embedded.services.database.db, embedded.services.blobs, { graceMs: 0, intervalMs: 3_600_000, log });
    assert.deepEqual(await sweep.sweep(), ['files/file-orphanOnEmbeddedDefaults00']);
    assert.ok(await embedded.services.blobs.head(`files/${file.id}`), 'the file’s object stays');
  } finally {
    await embedded.destroy();
  }
});
