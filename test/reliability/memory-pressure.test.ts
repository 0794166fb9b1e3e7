// Memory pressure in a worker: a job whose activations cannot fit (256 sequences of 512 tokens in one
// batch exhaust the 4 GiB the TF.js heap of its trainer thread can address) fails with a reason a
// person can act on, while the service keeps answering; the memory goes with the thread, and the next
// job trains normally.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { call, chatLine, uploadForm } from '../helpers/http.ts';
import { qaDataset, TINY_LORA, waitForJob } from '../helpers/jobs.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let svc: TestService;

before(async () => {
  svc = await startTestService({ worker: true, env: { JOB_LEASE_SECONDS: '30' } });
});
after(async () => {
  await svc.destroy();
});

async function upload(content: string): Promise<string> {
  const res = await call(`${svc.url}/v1/files`, { method: 'POST', key: svc.apiKey, body: uploadForm(content) });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.id;
}

test('a job whose activations cannot fit fails with a clear reason; the service keeps serving and trains the next job', async () => {
  const long = Array.from({ length: 256 }, (_, i) => chatLine(`${i} ${'q'.repeat(300)}`, 'a'.repeat(300))).join('\n');
  const res = await call(`${svc.url}/v1/fine_tuning/jobs`, {
    method: 'POST',
    key: svc.apiKey,
    json: { model: 'glm-tiny', training_file: await upload(long), hyperparameters: { n_epochs: 1, batch_size: 256 }, tuning: { method: TINY_LORA, max_seq_len: 512 } },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  await waitForJob(svc.url, svc.apiKey, res.body.id, ['running']);

  // While the trainer thread runs out of memory, the API answers as usual.
  let answered = 0;
  let failed: { status: string; error: { code: string; message: string } } | undefined;
  while (!failed) {
    for (const path of ['/healthz', '/v1/files', `/v1/fine_tuning/jobs/${res.body.id}/events`]) {
      const probe = await call(`${svc.url}${path}`, { key: svc.apiKey });
      assert.equal(probe.status, 200, `${path} during the out-of-memory job: ${JSON.stringify(probe.body)}`);
      answered++;
    }
    const job = (await call(`${svc.url}/v1/fine_tuning/jobs/${res.body.id}`, { key: svc.apiKey })).body;
    assert.notEqual(job.status, 'succeeded', 'the job was meant not to fit');
    if (job.status === 'failed') failed = job;
    else await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(answered > 0);
  assert.equal(failed.error.code, 'out_of_memory');
  assert.match(failed.error.message, /ran out of memory.*lower batch_size or max_seq_len/);

  const next = await call(`${svc.url}/v1/fine_tuning/jobs`, {
    method: 'POST',
    key: svc.apiKey,
    json: { model: 'glm-tiny', training_file: await upload(qaDataset()), hyperparameters: { n_epochs: 2, batch_size: 2 }, tuning: { method: TINY_LORA } },
  });
  const done = await waitForJob(svc.url, svc.apiKey, next.body.id, ['succeeded'], 120_000);
  assert.equal(done.progress.step, 4);
});
