// ChatGLM-6B (v1) as a base model of the service: the tiny v1 fixture (with a character tokenizer, see
// test/helpers/chatglm6b-tiny.ts) in MODELS_DIR is listed, fine-tuned with LoRA and P-tuning v2 through
// the jobs API (and QLoRA and freeze tuning), and the results answer as taught.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { initCompute } from '../../src/compute/backend.ts';
import { templateFor } from '../../src/model/chat-templates/select.ts';
import { generate } from '../../src/model/generate.ts';
import { loadModel } from '../../src/model/load.ts';
import { loadTokenizer } from '../../src/model/tokenizers/load.ts';
import { loadLora } from '../../src/methods/lora/load.ts';
import { loadPrefix } from '../../src/methods/ptuning/format.ts';
import { downloadPrefix } from '../../src/worker/staging.ts';
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
  await initCompute();
});
after(async () => {
  await svc.destroy();
  rmSync(scratch, { recursive: true, force: true });
});

async function answers(kind: 'lora' | 'qlora' | 'ptuning_v2' | 'freeze', dir: string): Promise<string[]> {
  const base = kind === 'freeze' ? dir : modelDir; // a freeze result is a whole model folder
  const model = loadModel(base);
  const tokenizer = await loadTokenizer(base);
  const template = await templateFor(base, tokenizer);
  const lora = kind === 'lora' || kind === 'qlora' ? loadLora(model, dir) : undefined;
  const prefix = kind === 'ptuning_v2' ? loadPrefix(model, dir) : undefined;
  try {
    const out = [];
    for (const [question] of PAIRS) {
      const result = await generate(model, template.generationPrompt([{ role: 'user', content: question }]), { maxNewTokens: 20, stopIds: template.stopIds, adapters: lora?.adapters, prefix });
      out.push(tokenizer.decode(result.tokens.map((t) => t.id).filter((id) => !template.stopIds.includes(id))));
    }
    return out;
  } finally {
    lora?.dispose();
    prefix?.dispose();
    model.dispose();
  }
}

test('the v1 model is a base model of the service, with the v1 chat template', async () => {
  const entry = svc.services.catalog.base('tiny-chatglm6b');
  assert.ok(entry, JSON.stringify(svc.services.catalog.problems));
  assert.equal(entry.config.architecture, 'chatglm6b');
  const template = await templateFor(modelDir, await loadTokenizer(modelDir));
  assert.equal(template.name, 'chatglm6b');
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
    const dir = join(scratch, method);
    await downloadPrefix(svc.services.blobs, `models/${job.id}/`, dir);
    assert.deepEqual(await answers(method, dir), PAIRS.map(([, a]) => a));
  });
}
