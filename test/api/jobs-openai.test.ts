// Fine-tuning jobs through the official openai client: every method trains glm-tiny to success, with
// events, checkpoints, a result file, its artifact files in the bucket, and a fine-tuned model that answers
// chat completions as taught.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import OpenAI, { toFile } from 'openai';
import { downloadPrefix } from '../../src/worker/staging.ts';
import { assertOpenAISchema } from '../helpers/openai-schemas.ts';
import { QA_PAIRS, qaDataset, TINY_LORA, waitForJob } from '../helpers/jobs.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let svc: TestService;
let client: OpenAI;
let trainingFile: string;
const scratch = mkdtempSync(join(tmpdir(), 'glmtune-jobs-'));

before(async () => {
  svc = await startTestService({ worker: true });
  client = new OpenAI({ baseURL: `${svc.url}/v1`, apiKey: svc.apiKey, maxRetries: 0 });
  trainingFile = (await client.files.create({ file: await toFile(Buffer.from(qaDataset()), 'qa.jsonl'), purpose: 'fine-tune' })).id;
});
after(async () => {
  await svc.destroy();
  rmSync(scratch, { recursive: true, force: true });
});

/** Greedy answers of a model to the training questions, through chat completions. */
async function answers(model: string): Promise<string[]> {
  const out: string[] = [];
  for (const [question] of QA_PAIRS) {
    const reply = await client.chat.completions.create({ model, messages: [{ role: 'user', content: question }], temperature: 0, max_tokens: 24 });
    out.push((reply.choices[0].message.content ?? '').trim());
  }
  return out;
}

// Steps = epochs × 4 examples / batch size.
const METHODS = [
  { name: 'lora', tuning: { method: TINY_LORA, learning_rate: 5e-3, lr_scheduler_type: 'constant' }, epochs: 40, batch: 2, files: ['adapter_config.json', 'adapter_model.safetensors'] },
  { name: 'qlora', tuning: { method: { ...TINY_LORA, type: 'qlora' }, learning_rate: 5e-3, lr_scheduler_type: 'constant' }, epochs: 40, batch: 2, files: ['adapter_config.json', 'adapter_model.safetensors'] },
  { name: 'ptuning_v2', tuning: { method: { type: 'ptuning_v2', pre_seq_len: 8, prefix_dropout: 0 }, learning_rate: 5e-2, lr_scheduler_type: 'constant' }, epochs: 40, batch: 1, files: ['config.json', 'prefix_encoder.safetensors'] },
  { name: 'full', tuning: { method: { type: 'full' }, learning_rate: 3e-3, lr_scheduler_type: 'constant' }, epochs: 30, batch: 2, files: ['config.json', 'model.safetensors', 'tokenizer_config.json'] },
];

for (const m of METHODS) {
  test(`${m.name}: create → queued → running → succeeded; events, checkpoints, results and a working artifact`, async () => {
    const steps = (m.epochs * QA_PAIRS.length) / m.batch;
    const created = await client.fineTuning.jobs.create({
      model: 'glm-tiny',
      training_file: trainingFile,
      seed: 7,
      suffix: m.name,
      method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: m.epochs, batch_size: m.batch } } },
      metadata: { test: 'openai', method: m.name },
      // glmtune's extension sits beside OpenAI's fields.
      ...({ tuning: { ...m.tuning, save_steps: steps / 2 } } as object),
    });
    assert.equal(created.object, 'fine_tuning.job');
    assert.equal(created.status, 'validating_files');
    assert.equal(created.hyperparameters.n_epochs, m.epochs);
    assertOpenAISchema('FineTuningJob', created);

    const job = await waitForJob(svc.url, svc.apiKey, created.id, ['succeeded']);
    assert.match(job.fine_tuned_model, new RegExp(`^ft:glm-tiny:default:${m.name}:[0-9A-Za-z]{24}$`));
    assert.equal(job.trained_tokens > 0, true);
    assert.equal(job.progress.step, steps);
    assert.ok(job.finished_at >= job.created_at);
    assertOpenAISchema('FineTuningJob', job);
    const retrieved = await client.fineTuning.jobs.retrieve(created.id);
    assert.equal(retrieved.fine_tuned_model, job.fine_tuned_model);

    const events = [];
    for await (const e of client.fineTuning.jobs.listEvents(created.id, { limit: 100 })) events.push(e);
    const messages = events.map((e) => e.message);
    for (const expected of ['Created fine-tuning job', 'Validating training file', 'Files validated', 'Fine-tuning job started', 'Checkpoint created at step', 'New fine-tuned model created: ft:', 'The job has successfully completed']) {
      assert.ok(messages.some((msg) => msg.startsWith(expected)), `missing event "${expected}" in ${JSON.stringify(messages.slice(0, 10))}`);
    }
    const metrics = events.filter((e) => e.type === 'metrics');
    assert.equal(metrics.length, steps, 'one metrics event per step');
    assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'no event twice');
    const last = metrics.find((e) => (e.data as { step: number }).step === steps)!;
    assert.ok((last.data as { train_loss: number }).train_loss < 0.5, `final loss ${JSON.stringify(last.data)}`);
    for (const e of events.slice(0, 5)) assertOpenAISchema('FineTuningJobEvent', e);

    const checkpoints = await client.fineTuning.jobs.checkpoints.list(created.id);
    assert.deepEqual(checkpoints.data.map((c) => c.step_number), [steps, steps / 2]);
    assert.equal(checkpoints.data[0].fine_tuned_model_checkpoint, `${job.fine_tuned_model}:ckpt-step-${steps}`);
    for (const c of checkpoints.data) assertOpenAISchema('FineTuningJobCheckpoint', c);

    const csv = await (await client.files.content(job.result_files[0])).text();
    assert.match(csv, /^step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy,learning_rate\n1,/);
    assert.equal(csv.trim().split('\n').length, steps + 1);

    const dir = join(scratch, m.name);
    await downloadPrefix(svc.services.blobs, `models/${created.id}/`, dir);
    for (const f of m.files) assert.ok(readdirSync(dir).includes(f), `${f} in ${readdirSync(dir)}`);
    assert.deepEqual(await answers(job.fine_tuned_model), QA_PAIRS.map(([, a]) => a), 'the fine-tuned model answers as taught');
    assert.notDeepEqual(await answers('glm-tiny'), QA_PAIRS.map(([, a]) => a), 'the base model does not');
  });
}

test('incremental training: a job continues an earlier LoRA fine-tune, starting from its adapter', async () => {
  const first = await client.fineTuning.jobs.create({
    model: 'glm-tiny',
    training_file: trainingFile,
    seed: 7,
    suffix: 'stage1',
    method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: 40, batch_size: 2 } } },
    ...({ tuning: { method: TINY_LORA, learning_rate: 5e-3, lr_scheduler_type: 'constant' } } as object),
  });
  const stage1 = await waitForJob(svc.url, svc.apiKey, first.id, ['succeeded']);
  const second = await client.fineTuning.jobs.create({
    model: stage1.fine_tuned_model,
    training_file: trainingFile,
    seed: 8,
    suffix: 'stage2',
    method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: 1, batch_size: 4 } } },
    ...({ tuning: { method: TINY_LORA, learning_rate: 1e-4 } } as object),
  });
  const stage2 = await waitForJob(svc.url, svc.apiKey, second.id, ['succeeded']);
  assert.equal(stage2.model, stage1.fine_tuned_model);
  assert.equal(stage2.base_model, 'glm-tiny');
  const events = await client.fineTuning.jobs.listEvents(second.id, { limit: 100 });
  const firstLoss = events.data.filter((e) => e.type === 'metrics').map((e) => (e.data as { step: number; train_loss: number })).find((d) => d.step === 1)!;
  assert.ok(firstLoss.train_loss < 0.5, `starts from the trained adapter (first loss ${firstLoss.train_loss})`);
  assert.deepEqual(await answers(stage2.fine_tuned_model), QA_PAIRS.map(([, a]) => a));
  const wrongMethod = await client.fineTuning.jobs
    .create({ model: stage1.fine_tuned_model, training_file: trainingFile, ...({ tuning: { method: { type: 'full' } } } as object) })
    .catch((err: unknown) => err);
  assert.ok(wrongMethod instanceof OpenAI.BadRequestError && wrongMethod.param === 'tuning.method.type', String(wrongMethod));
});
