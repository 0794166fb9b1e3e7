// Cancel, pause and resume reach a running job within a training step; a paused job continues from its
// checkpoint to the same end; the live event stream follows a job to its end; loss curves as JSON.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { call, uploadForm } from '../helpers/http.ts';
import { qaDataset, TINY_LORA, waitForJob } from '../helpers/jobs.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let svc: TestService;
let file: string;

before(async () => {
  svc = await startTestService({ worker: true });
  file = (await call(`${svc.url}/v1/files`, { method: 'POST', key: svc.apiKey, body: uploadForm(qaDataset()) })).body.id;
});
after(async () => {
  await svc.destroy();
});

const jobBody = (epochs: number, extra: Record<string, unknown> = {}) => ({
  model: 'glm-tiny',
  training_file: file,
  seed: 5,
  hyperparameters: { n_epochs: epochs, batch_size: 1 },
  tuning: { method: TINY_LORA, learning_rate: 5e-3, lr_scheduler_type: 'constant', ...extra },
});
const post = (path: string, json?: unknown) => call(`${svc.url}/v1/fine_tuning/jobs${path}`, { method: 'POST', key: svc.apiKey, json });

async function waitForStep(id: string, step: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await call(`${svc.url}/v1/fine_tuning/jobs/${id}`, { key: svc.apiKey })).body.progress.step < step) {
    if (Date.now() > deadline) throw new Error(`job ${id} did not reach step ${step}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function metricSteps(id: string): Promise<number[]> {
  const res = await call(`${svc.url}/v1/fine_tuning/jobs/${id}/events?limit=1000`, { key: svc.apiKey });
  return res.body.data.filter((e: { type: string; data: { train_loss?: number } }) => e.type === 'metrics' && e.data.train_loss !== undefined).map((e: { data: { step: number } }) => e.data.step).sort((a: number, b: number) => a - b);
}

test('cancel stops a running job within a step', async () => {
  const job = (await post('', jobBody(50))).body; // 200 steps
  await waitForJob(svc.url, svc.apiKey, job.id, ['running']);
  await waitForStep(job.id, 3);
  const flagged = await post(`/${job.id}/cancel`);
  assert.equal(flagged.status, 200);
  const done = await waitForJob(svc.url, svc.apiKey, job.id, ['cancelled'], 30_000);
  assert.ok(done.progress.step < 200, `stopped at step ${done.progress.step}`);
  assert.equal(done.fine_tuned_model, null);
  assert.ok(done.finished_at);
});

test('pause saves a checkpoint; resume continues from it to the same end as an uninterrupted job', async () => {
  const steps = 100;
  const body = jobBody(25); // 100 steps
  const reference = (await post('', { ...body, suffix: 'reference' })).body;
  const paused = (await post('', { ...body, suffix: 'paused' })).body;
  await waitForJob(svc.url, svc.apiKey, reference.id, ['succeeded']);

  await waitForJob(svc.url, svc.apiKey, paused.id, ['running']);
  await waitForStep(paused.id, 5);
  assert.equal((await post(`/${paused.id}/pause`)).status, 200);
  const held = await waitForJob(svc.url, svc.apiKey, paused.id, ['paused'], 30_000);
  const checkpoints = (await call(`${svc.url}/v1/fine_tuning/jobs/${paused.id}/checkpoints`, { key: svc.apiKey })).body.data;
  assert.equal(checkpoints[0].step_number, held.progress.step, 'the pause checkpoint is at the step where it stopped');
  assert.ok(held.progress.step < steps);

  assert.equal((await post(`/${paused.id}/resume`)).body.status, 'queued');
  const finished = await waitForJob(svc.url, svc.apiKey, paused.id, ['succeeded']);
  assert.equal(finished.progress.step, steps);
  assert.deepEqual(await metricSteps(paused.id), Array.from({ length: steps }, (_, i) => i + 1), 'every step once, none twice');

  const curve = async (id: string) => (await call(`${svc.url}/v1/fine_tuning/jobs/${id}/metrics`, { key: svc.apiKey })).body.train.map((p: { loss: number }) => p.loss);
  const [a, b] = [await curve(reference.id), await curve(paused.id)];
  assert.equal(a.length, steps);
  for (let i = 0; i < steps; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-4, `step ${i + 1}: ${a[i]} vs ${b[i]}`);
});

test('the live event stream delivers events as they happen and ends with [DONE] when the job ends', async () => {
  const job = (await post('', { ...jobBody(3), suffix: 'stream' })).body;
  const res = await fetch(`${svc.url}/v1/fine_tuning/jobs/${job.id}/events/stream`, { headers: { authorization: `Bearer ${svc.apiKey}` } });
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const text = await res.text();
  const chunks = text.split('\n\n').filter(Boolean).map((c) => c.replace(/^data: /, ''));
  assert.equal(chunks.at(-1), '[DONE]');
  const messages = chunks.slice(0, -1).map((c) => JSON.parse(c).message);
  assert.equal(messages[0], `Created fine-tuning job: ${job.id}`);
  assert.ok(messages.includes('The job has successfully completed'));
  assert.equal(messages.filter((m: string) => m.startsWith('Step ')).length, 12);
});

test('the openai client lists, pauses, resumes and cancels jobs; lists validate against OpenAI’s schemas', async () => {
  const { default: OpenAI } = await import('openai');
  const { assertOpenAISchema } = await import('../helpers/openai-schemas.ts');
  const client = new OpenAI({ baseURL: `${svc.url}/v1`, apiKey: svc.apiKey, maxRetries: 0 });
  const job = await client.fineTuning.jobs.create({ ...(jobBody(50) as object), model: 'glm-tiny', training_file: file, suffix: 'client' } as Parameters<typeof client.fineTuning.jobs.create>[0]);
  await waitForJob(svc.url, svc.apiKey, job.id, ['running']);
  await waitForStep(job.id, 2);
  await client.fineTuning.jobs.pause(job.id);
  const paused = await waitForJob(svc.url, svc.apiKey, job.id, ['paused'], 30_000);
  const resumed = await client.fineTuning.jobs.resume(job.id);
  assert.equal(resumed.status, 'queued');
  await waitForJob(svc.url, svc.apiKey, job.id, ['running']);
  await waitForStep(job.id, paused.progress.step + 2);
  await client.fineTuning.jobs.cancel(job.id);
  const cancelled = await waitForJob(svc.url, svc.apiKey, job.id, ['cancelled'], 30_000);
  assert.ok(cancelled.progress.step > paused.progress.step, 'it trained on after the resume');

  const page = await client.fineTuning.jobs.list({ limit: 2 });
  assert.equal(page.data[0].id, job.id);
  assertOpenAISchema('ListPaginatedFineTuningJobsResponse', (await call(`${svc.url}/v1/fine_tuning/jobs?limit=2`, { key: svc.apiKey })).body);
  const events = await call(`${svc.url}/v1/fine_tuning/jobs/${job.id}/events?limit=5`, { key: svc.apiKey });
  assertOpenAISchema('ListFineTuningJobEventsResponse', events.body);
  const older = await client.fineTuning.jobs.listEvents(job.id, { limit: 2, after: events.body.data[1].id });
  assert.equal(older.data[0].id, events.body.data[2].id, 'after = the last event seen; the page holds older ones');
  const checkpoints = await call(`${svc.url}/v1/fine_tuning/jobs/${job.id}/checkpoints`, { key: svc.apiKey });
  assert.ok(checkpoints.body.data.length >= 1, 'the pause checkpoint');
  assertOpenAISchema('ListFineTuningJobCheckpointsResponse', checkpoints.body);
});

test('checkpoint retention keeps the newest CHECKPOINTS_KEPT; older ones lose their model ids and objects', async () => {
  const job = (await post('', { ...jobBody(5), suffix: 'retention', tuning: { method: TINY_LORA, learning_rate: 5e-3, save_steps: 4 } })).body; // 20 steps
  const done = await waitForJob(svc.url, svc.apiKey, job.id, ['succeeded']);
  const cps = (await call(`${svc.url}/v1/fine_tuning/jobs/${job.id}/checkpoints`, { key: svc.apiKey })).body.data;
  assert.deepEqual(cps.map((c: { step_number: number }) => c.step_number), [20, 16, 12]);
  const objects: string[] = [];
  for await (const o of svc.services.blobs.list(`jobs/${job.id}/checkpoints/`)) objects.push(o.key.split('/')[3]);
  assert.deepEqual([...new Set(objects)].sort(), ['12', '16', '20']);
  const events = (await call(`${svc.url}/v1/fine_tuning/jobs/${job.id}/events?limit=200`, { key: svc.apiKey })).body.data;
  assert.equal(events.filter((e: { message: string }) => e.message.startsWith('Checkpoint created')).length, 5, 'all five were made');
  assert.ok(done.fine_tuned_model);
});

test('a diverging run fails the job with the reason, and the service keeps serving', async () => {
  const job = (await post('', { ...jobBody(5), suffix: 'diverge', tuning: { method: { type: 'full' }, learning_rate: 1e30, max_grad_norm: 0 } })).body;
  const failed = await waitForJob(svc.url, svc.apiKey, job.id, ['failed']);
  assert.equal(failed.error.code, 'training_diverged');
  assert.match(failed.error.message, /not finite/);
  assert.equal(failed.fine_tuned_model, null);
  assert.equal((await call(`${svc.url}/healthz`)).status, 200);
  const next = (await post('', { ...jobBody(1), suffix: 'after' })).body;
  await waitForJob(svc.url, svc.apiKey, next.id, ['succeeded']);
});
