// Creating jobs: every bad field is a 400 naming it and writes nothing; other organizations see 404;
// Idempotency-Key and client retries give the same job; a file in use cannot be deleted.
// No worker runs here, so jobs stay where creation put them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { call, errorOf, uploadForm } from '../helpers/http.ts';
import { QA_PAIRS, qaDataset, TINY_LORA } from '../helpers/jobs.ts';
import { assertOpenAISchema } from '../helpers/openai-schemas.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let svc: TestService;
let otherKey: string;
let good: string;
let broken: string;
let othersFile: string;
let resultsFile: string;

const upload = async (content: string, key = svc.apiKey) =>
  (await call(`${svc.url}/v1/files`, { method: 'POST', key, body: uploadForm(content) })).body.id as string;
const create = (body: unknown, key = svc.apiKey, headers: Record<string, string> = {}) =>
  call(`${svc.url}/v1/fine_tuning/jobs`, { method: 'POST', key, json: body, headers });
const countJobs = async () => (await call(`${svc.url}/v1/fine_tuning/jobs?limit=100`, { key: svc.apiKey })).body.data.length;

before(async () => {
  svc = await startTestService();
  otherKey = await svc.newOrganization('other');
  good = await upload(qaDataset());
  broken = await upload('{"messages": [}\n');
  othersFile = await upload(qaDataset(), otherKey);
  const org = (await svc.services.auth.listOrganizations()).find((o) => o.name === 'default')!;
  resultsFile = (await svc.services.files.createInternal(org.id, 'step_metrics.csv', 'fine-tune-results', Buffer.from('step\n'))).id;
});
after(async () => {
  await svc.destroy();
});

test('a valid request creates a job in validating_files with "auto" resolved and the full training config', async () => {
  const res = await create({ model: 'glm-tiny', training_file: good, seed: 3, tuning: { method: TINY_LORA } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const job = res.body;
  assertOpenAISchema('FineTuningJob', job);
  assert.equal(job.status, 'validating_files');
  assert.deepEqual(job.hyperparameters, { n_epochs: 25, batch_size: 1, learning_rate_multiplier: 1 }, '4 examples: 25 epochs, batch 1');
  assert.equal(job.tuning.learning_rate, 2e-4, 'LoRA base rate × multiplier 1');
  assert.equal(job.tuning.method.r, 8);
  assert.equal(job.seed, 3);
  assert.equal(job.base_model, 'glm-tiny');
});

const BAD: [string, unknown, string][] = [
  ['unknown model', { model: 'gpt-4o-mini', training_file: 'GOOD' }, 'model'],
  ['missing training file', { model: 'glm-tiny' }, 'training_file'],
  ["another organization's file", { model: 'glm-tiny', training_file: 'OTHERS' }, 'training_file'],
  ['a file with errors', { model: 'glm-tiny', training_file: 'BROKEN' }, 'training_file'],
  ['a file of the wrong purpose', { model: 'glm-tiny', training_file: 'RESULTS' }, 'training_file'],
  ['a bad validation file', { model: 'glm-tiny', training_file: 'GOOD', validation_file: 'BROKEN' }, 'validation_file'],
  ['dpo', { model: 'glm-tiny', training_file: 'GOOD', method: { type: 'dpo' } }, 'method.type'],
  ['n_epochs 0', { model: 'glm-tiny', training_file: 'GOOD', method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: 0 } } } }, 'method.supervised.hyperparameters.n_epochs'],
  ['batch_size "lots"', { model: 'glm-tiny', training_file: 'GOOD', hyperparameters: { batch_size: 'lots' } }, 'hyperparameters.batch_size'],
  ['learning_rate_multiplier -1', { model: 'glm-tiny', training_file: 'GOOD', hyperparameters: { learning_rate_multiplier: -1 } }, 'hyperparameters.learning_rate_multiplier'],
  ['a suffix with spaces', { model: 'glm-tiny', training_file: 'GOOD', suffix: 'my model' }, 'suffix'],
  ['17 metadata keys', { model: 'glm-tiny', training_file: 'GOOD', metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) }, 'metadata'],
  ['an unknown field', { model: 'glm-tiny', training_file: 'GOOD', temperature: 1 }, 'temperature'],
  ['an unknown method', { model: 'glm-tiny', training_file: 'GOOD', tuning: { method: { type: 'adapter-fusion' } } }, 'tuning.method.type'],
  ['a target module the model lacks', { model: 'glm-tiny', training_file: 'GOOD', tuning: { method: { type: 'lora', target_modules: ['q_proj'] } } }, 'tuning.method.target_modules[0]'],
  ['LoRA rank 0', { model: 'glm-tiny', training_file: 'GOOD', tuning: { method: { type: 'lora', r: 0 } } }, 'tuning.method.r'],
  ['bf16 compute', { model: 'glm-tiny', training_file: 'GOOD', tuning: { compute_dtype: 'bf16' } }, 'tuning.compute_dtype'],
  ['max_seq_len beyond the context', { model: 'glm-tiny', training_file: 'GOOD', tuning: { max_seq_len: 100000 } }, 'tuning.max_seq_len'],
  ['freezing more layers than exist', { model: 'glm-tiny', training_file: 'GOOD', tuning: { method: { type: 'freeze', layers: 9 } } }, 'tuning.method.layers'],
  ['a negative weight decay', { model: 'glm-tiny', training_file: 'GOOD', tuning: { weight_decay: -0.1 } }, 'tuning.weight_decay'],
  ['an unknown teacher', { model: 'glm-tiny', training_file: 'GOOD', tuning: { distillation: { teacher: 'glm-huge' } } }, 'tuning.distillation.teacher'],
  ['integrations', { model: 'glm-tiny', training_file: 'GOOD', integrations: [{ type: 'wandb', wandb: { project: 'x' } }] }, 'integrations'],
];

test('every bad field is a 400 naming it, and nothing is written', async () => {
  const before = await countJobs();
  const ids: Record<string, string> = { GOOD: good, BROKEN: broken, OTHERS: othersFile, RESULTS: resultsFile };
  for (const [what, template, param] of BAD) {
    const body = JSON.parse(JSON.stringify(template).replace(/"(GOOD|BROKEN|OTHERS|RESULTS)"/g, (_, k: string) => JSON.stringify(ids[k])));
    const res = await create(body);
    assert.equal(res.status, 400, `${what}: ${res.status} ${JSON.stringify(res.body)}`);
    assert.equal(errorOf(res).param, param, `${what}: ${JSON.stringify(res.body)}`);
    assertOpenAISchema('ErrorResponse', res.body);
  }
  assert.equal(await countJobs(), before);
  const dtype = await create({ model: 'glm-tiny', training_file: good, tuning: { compute_dtype: 'fp16' } });
  assert.match(errorOf(dtype).message, /float32/);
});

test("another organization's job answers 404 on every route", async () => {
  const job = (await create({ model: 'glm-tiny', training_file: good, metadata: { team: 'a' } })).body;
  for (const [method, path] of [
    ['GET', ''],
    ['POST', '/cancel'],
    ['POST', '/pause'],
    ['POST', '/resume'],
    ['GET', '/events'],
    ['GET', '/events/stream'],
    ['GET', '/checkpoints'],
    ['GET', '/metrics'],
  ] as const) {
    const res = await call(`${svc.url}/v1/fine_tuning/jobs/${job.id}${path}`, { method, key: otherKey });
    assert.equal(res.status, 404, `${method} ${path}`);
    assert.equal(errorOf(res).code, 'not_found');
  }
  const list = await call(`${svc.url}/v1/fine_tuning/jobs`, { key: otherKey });
  assert.deepEqual(list.body.data, []);
});

test('Idempotency-Key returns the same job for the same body and 409 for another; a quick identical retry is the same job', async () => {
  const body = { model: 'glm-tiny', training_file: good, suffix: 'idem' };
  const first = await create(body, svc.apiKey, { 'idempotency-key': 'key-1' });
  const again = await create(body, svc.apiKey, { 'idempotency-key': 'key-1' });
  assert.equal(again.status, 200);
  assert.equal(again.body.id, first.body.id);
  const other = await create({ ...body, suffix: 'other' }, svc.apiKey, { 'idempotency-key': 'key-1' });
  assert.equal(other.status, 409);
  assert.equal(errorOf(other).param, 'Idempotency-Key');
  // The openai client retries a create (after a timeout, say) with no key: the same job, not a second one.
  const retryBody = { model: 'glm-tiny', training_file: good, suffix: 'retry', seed: 11 };
  const a = await create(retryBody);
  const b = await create(retryBody);
  assert.equal(b.body.id, a.body.id);
  const c = await create({ ...retryBody, seed: 12 });
  assert.notEqual(c.body.id, a.body.id, 'a different request is a different job');
});

test('listing: newest first, after/limit, and the metadata filter', async () => {
  const ids = [];
  for (const team of ['x', 'y', 'x']) ids.push((await create({ model: 'glm-tiny', training_file: good, metadata: { team, n: String(ids.length) } })).body.id);
  const page = await call(`${svc.url}/v1/fine_tuning/jobs?limit=2`, { key: svc.apiKey });
  assert.deepEqual(page.body.data.map((j: { id: string }) => j.id), [ids[2], ids[1]]);
  assert.equal(page.body.has_more, true);
  assertOpenAISchema('ListPaginatedFineTuningJobsResponse', page.body);
  const next = await call(`${svc.url}/v1/fine_tuning/jobs?limit=1&after=${ids[1]}`, { key: svc.apiKey });
  assert.deepEqual(next.body.data.map((j: { id: string }) => j.id), [ids[0]]);
  const filtered = await call(`${svc.url}/v1/fine_tuning/jobs?metadata[team]=x`, { key: svc.apiKey });
  assert.deepEqual(filtered.body.data.map((j: { id: string }) => j.id), [ids[2], ids[0]]);
});

test('a file used by an active job cannot be deleted (409) until the job is cancelled', async () => {
  const file = await upload(qaDataset());
  const job = (await create({ model: 'glm-tiny', training_file: file })).body;
  const refused = await call(`${svc.url}/v1/files/${file}`, { method: 'DELETE', key: svc.apiKey });
  assert.equal(refused.status, 409);
  assert.equal(errorOf(refused).param, 'file_id');
  const cancelled = await call(`${svc.url}/v1/fine_tuning/jobs/${job.id}/cancel`, { method: 'POST', key: svc.apiKey });
  assert.equal(cancelled.body.status, 'cancelled');
  assert.equal((await call(`${svc.url}/v1/files/${file}`, { method: 'DELETE', key: svc.apiKey })).status, 200);
  const twice = await call(`${svc.url}/v1/fine_tuning/jobs/${job.id}/cancel`, { method: 'POST', key: svc.apiKey });
  assert.equal(twice.status, 409, 'a cancelled job cannot be cancelled again');
  const resume = await call(`${svc.url}/v1/fine_tuning/jobs/${job.id}/resume`, { method: 'POST', key: svc.apiKey });
  assert.equal(resume.status, 409);
});

test('estimate: tokens counted with the model’s template, steps, trainable parameters, memory and whether it fits', async () => {
  const lora = await call(`${svc.url}/v1/fine_tuning/estimate`, {
    method: 'POST',
    key: svc.apiKey,
    json: { model: 'glm-tiny', training_file: good, hyperparameters: { n_epochs: 3, batch_size: 2 }, tuning: { method: TINY_LORA } },
  });
  assert.equal(lora.status, 200, JSON.stringify(lora.body));
  const e = lora.body;
  // glm-tiny's byte tokenizer: [gMASK] sop <|user|> \n question <|assistant|> \n answer </s>
  const expectedTokens = qaPairsTokens();
  assert.equal(e.examples, 4);
  assert.equal(e.tokens_per_epoch, expectedTokens);
  assert.equal(e.steps_per_epoch, 2);
  assert.equal(e.total_steps, 6);
  assert.equal(e.trained_tokens, expectedTokens * 3);
  // r·(in+out) per site: qkv [256,128], dense [128,128], h_to_4h [688,128], 4h_to_h [128,344]; 4 layers.
  assert.equal(e.memory.trainable_parameters, 4 * 8 * (384 + 256 + 816 + 472));
  assert.equal(e.memory.optimizer_bytes, e.memory.trainable_parameters * 8);
  assert.equal(e.memory.fits, true);
  assert.ok(e.estimated_seconds >= 1);

  const full = (await call(`${svc.url}/v1/fine_tuning/estimate`, { method: 'POST', key: svc.apiKey, json: { model: 'glm-tiny', training_file: good, tuning: { method: { type: 'full' } } } })).body;
  assert.equal(full.memory.trainable_parameters, full.memory.parameters);
  const qlora = (await call(`${svc.url}/v1/fine_tuning/estimate`, { method: 'POST', key: svc.apiKey, json: { model: 'glm-tiny', training_file: good, tuning: { method: { ...TINY_LORA, type: 'qlora' } } } })).body;
  assert.ok(qlora.memory.frozen_weight_bytes < full.memory.parameters * 4 * 0.5, 'the NF4 base is far smaller than float32');

  const long = await upload(JSON.stringify({ prompt: 'x'.repeat(500), completion: 'y' }) + '\n');
  const huge = (await call(`${svc.url}/v1/fine_tuning/estimate`, { method: 'POST', key: svc.apiKey, json: { model: 'glm-tiny', training_file: long, hyperparameters: { batch_size: 256 } } })).body;
  assert.equal(huge.memory.fits, false, 'activations of 256 × 500 tokens exceed the 4 GiB wasm heap');
  assert.equal(huge.memory.limit, 'wasm_heap');

  const bad = await call(`${svc.url}/v1/fine_tuning/estimate`, { method: 'POST', key: svc.apiKey, json: { model: 'nope', training_file: good } });
  assert.equal(errorOf(bad).param, 'model');
});

/** Tokens of QA_PAIRS as training examples of glm-tiny (byte tokenizer, ChatGLM3 template). */
function qaPairsTokens(): number {
  const bytes = (s: string) => Buffer.byteLength(s);
  return QA_PAIRS.reduce((n, [q, a]) => n + 2 + 1 + 1 + bytes(q) + 1 + 1 + bytes(a) + 1, 0);
}
