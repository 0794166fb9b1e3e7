// ChatGLM-6B (v1) as a base model of the service: the tiny v1 fixture (with a character tokenizer, see
// test/helpers/chatglm6b-tiny.ts) in MODELS_DIR is listed, fine-tuned with LoRA and P-tuning v2 through
// the jobs API (and QLoRA and freeze tuning), and the fine-tuned models answer chat completions as taught.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { templateFor } from '../../src/model/chat-templates/select.ts';
import { loadTokenizer } from '../../src/model/tokenizers/load.ts';
import { writeTinyChatGlm6b } from '../helpers/chatglm6b-tiny.ts';
import { call, uploadForm } from '../helpers/http.ts';
import { waitForJob } from '../helpers/jobs.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

const PAIRS: [string, string][] = [
  ['What is the capital of France?', 'Paris.'],
  ['Who wrote Hamlet?', 'Shakespeare.'],
  ['What is 2+2?', 'Four.'],
  ['Say hi', 'Hi!'],
];
const scratch = mkdtempSync(join(tmpdir(), 'glmtune-v1-'));
const modelsDir = join(scratch, 'models');
const modelDir = writeTinyChatGlm6b(join(modelsDir, 'tiny-chatglm6b'));
let svc: TestService;
let file: string;

before(async () => {
  svc = await startTestService({ worker: true, env: { MODELS_DIR: modelsDir } });
  const dataset = PAIRS.map(([q, a]) => JSON.stringify({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }] })).join('\n') + '\n';
  file = (await call(`${svc.url}/v1/files`, { method: 'POST', key: svc.apiKey, body: uploadForm(dataset) })).body.id;
});
after(async () => {
  await svc.destroy();
  rmSync(scratch, { recursive: true, force: true });
});

/** Greedy answers of a model to the training questions, through chat completions. */
async function answers(model: string): Promise<string[]> {
  const out = [];
  for (const [question] of PAIRS) {
    const res = await call(`${svc.url}/v1/chat/completions`, { method: 'POST', key: svc.apiKey, json: { model, messages: [{ role: 'user', content: question }], temperature: 0, max_tokens: 20 } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    out.push(res.body.choices[0].message.content);
  }
  return out;
}

test('the v1 model is a base model of the service, with the v1 chat template', async () => {
  const entry = svc.services.catalog.base('tiny-chatglm6b');
  assert.ok(entry, JSON.stringify(svc.services.catalog.problems));
  assert.equal(entry.config.architecture, 'chatglm6b');
  const template = await templateFor(modelDir, await loadTokenizer(modelDir));
  assert.equal(template.name, 'chatglm6b');
  const listed = await call(`${svc.url}/v1/models/tiny-chatglm6b`, { key: svc.apiKey });
  assert.equal(listed.status, 200);
  // /tokenize applies v1's prompt: the bare query, then [gMASK] <sop> at the END.
  const tokens = await call(`${svc.url}/tokenize`, { method: 'POST', key: svc.apiKey, json: { model: 'tiny-chatglm6b', messages: [{ role: 'user', content: 'Hi' }], add_generation_prompt: true } });
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  assert.deepEqual(tokens.body.tokens.slice(-2), [151, 154]);
});

for (const [method, tuning, epochs, batch] of [
  ['lora', { method: { type: 'lora', r: 8, alpha: 16, dropout: 0, target_modules: ['query_key_value', 'dense', 'dense_h_to_4h', 'dense_4h_to_h'] }, learning_rate: 5e-3 }, 40, 2],
  ['ptuning_v2', { method: { type: 'ptuning_v2', pre_seq_len: 16, prefix_dropout: 0 }, learning_rate: 5e-2 }, 50, 2],
  ['qlora', { method: { type: 'qlora', r: 8, alpha: 16, dropout: 0, target_modules: ['query_key_value', 'dense', 'dense_h_to_4h', 'dense_4h_to_h'] }, learning_rate: 5e-3 }, 40, 2],
  ['freeze', { method: { type: 'freeze', layers: 1, also_output_layer: true }, learning_rate: 3e-3 }, 40, 2],
] as const) {
  test(`v1 ${method} through the jobs API: the job succeeds and its artifact answers as taught`, async () => {
    const res = await call(`${svc.url}/v1/fine_tuning/jobs`, {
      method: 'POST',
      key: svc.apiKey,
      json: { model: 'tiny-chatglm6b', training_file: file, seed: 1, suffix: method, hyperparameters: { n_epochs: epochs, batch_size: batch }, tuning: { ...tuning, lr_scheduler_type: 'constant' } },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const job = await waitForJob(svc.url, svc.apiKey, res.body.id, ['succeeded']);
    assert.match(job.fine_tuned_model, new RegExp(`^ft:tiny-chatglm6b:default:${method}:`));
    assert.deepEqual(await answers(job.fine_tuned_model), PAIRS.map(([, a]) => a));
  });
}
