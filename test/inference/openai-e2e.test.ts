// Serving fine-tunes end to end with the official openai client: two LoRA jobs on glm-tiny teach
// different answers to the same questions, and a P-tuning v2 job the first set; each fine-tune answers
// as taught (the base does not), also when all are queried at once in one batch on one resident base;
// streaming; completions; models list/retrieve/delete; artifacts, tar download and merge; tenancy; a
// client that leaves.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import OpenAI, { toFile } from 'openai';
import { call, errorOf } from '../helpers/http.ts';
import { QA_PAIRS, qaDataset, TINY_LORA, waitForJob } from '../helpers/jobs.ts';
import { assertOpenAISchema } from '../helpers/openai-schemas.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

// Two fine-tunes learn different answers to the same questions (with the settings that the jobs tests
// show glm-tiny learns them with: test/api/jobs-openai.test.ts).
const PAIRS = QA_PAIRS;
const OTHER_PAIRS: [string, string][] = [
  ['What is the capital of France?', 'Lyon.'],
  ['Who wrote Hamlet?', 'Marlowe.'],
  ['What is 2+2?', 'Five.'],
  ['你好', 'Hi!'],
];

let svc: TestService;
let client: OpenAI;
let modelA: string;
let modelB: string;
let modelP: string;
const scratch = mkdtempSync(join(tmpdir(), 'glmtune-inference-'));

const LORA = { batch: 2, tuning: { method: TINY_LORA, learning_rate: 5e-3 } };
const PTUNING = { batch: 1, tuning: { method: { type: 'ptuning_v2', pre_seq_len: 8, prefix_dropout: 0 }, learning_rate: 5e-2 } };

async function fineTune(pairs: [string, string][], suffix: string, { batch, tuning }: { batch: number; tuning: object }): Promise<string> {
  const file = await client.files.create({ file: await toFile(Buffer.from(qaDataset(pairs)), `${suffix}.jsonl`), purpose: 'fine-tune' });
  const job = await client.fineTuning.jobs.create({
    model: 'glm-tiny',
    training_file: file.id,
    seed: 7,
    suffix,
    method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: 40, batch_size: batch } } },
    ...({ tuning: { ...tuning, lr_scheduler_type: 'constant', save_steps: 40 } } as object),
  });
  return (await waitForJob(svc.url, svc.apiKey, job.id, ['succeeded'])).fine_tuned_model;
}

before(async () => {
  svc = await startTestService({ worker: true, env: { TRAINER_CONCURRENCY: '3' } });
  client = new OpenAI({ baseURL: `${svc.url}/v1`, apiKey: svc.apiKey, maxRetries: 0 });
  [modelA, modelB, modelP] = await Promise.all([fineTune(PAIRS, 'qa', LORA), fineTune(OTHER_PAIRS, 'other', LORA), fineTune(PAIRS, 'prefix', PTUNING)]);
});
after(async () => {
  await svc.destroy();
  rmSync(scratch, { recursive: true, force: true });
});

async function answer(model: string, question: string): Promise<string> {
  const completion = await client.chat.completions.create({ model, messages: [{ role: 'user', content: question }], temperature: 0, max_tokens: 24 });
  assertOpenAISchema('CreateChatCompletionResponse', completion);
  return completion.choices[0].message.content!;
}

async function metrics(): Promise<Record<string, number>> {
  const text = (await call(`${svc.url}/metrics`)).body as string;
  return Object.fromEntries(text.split('\n').filter((l) => l.startsWith('glmtune_inference')).map((l) => [l.split(' ')[0], Number(l.split(' ')[1])]));
}

test('two LoRA fine-tunes and a P-tuning one queried concurrently each answer as taught, on one resident base; the base does not', async () => {
  const asked = PAIRS.flatMap(([question], i) => [
    { model: modelA, question, expected: PAIRS[i][1] },
    { model: modelB, question, expected: OTHER_PAIRS[i][1] },
    { model: modelP, question, expected: PAIRS[i][1] },
  ]);
  const answers = await Promise.all(asked.map((a) => answer(a.model, a.question)));
  assert.deepEqual(answers, asked.map((a) => a.expected));
  const base = await Promise.all(PAIRS.map(([question]) => answer('glm-tiny', question)));
  for (const [i, text] of base.entries()) assert.notEqual(text, PAIRS[i][1], 'the base model was not taught');

  // Memory accounting: one base model and three adapters resident, and the threads' tensors are just those.
  const m = await metrics();
  assert.equal(m['glmtune_inference_resident_models{kind="model"}'], 1);
  assert.equal(m['glmtune_inference_resident_models{kind="adapter"}'], 3);
  const baseBytes = m['glmtune_inference_resident_bytes{kind="model"}'];
  const adapterBytes = m['glmtune_inference_resident_bytes{kind="adapter"}'];
  const parameters = (await client.models.retrieve('glm-tiny')) as unknown as { parameters: number };
  assert.ok(baseBytes >= parameters.parameters * 4 && baseBytes < parameters.parameters * 4 * 1.05, `base ${baseBytes} bytes for ${parameters.parameters} parameters: resident once`);
  assert.ok(adapterBytes > 0 && adapterBytes < baseBytes / 2, `adapters ${adapterBytes} bytes`);
  assert.equal(m.glmtune_inference_tensor_bytes, baseBytes + adapterBytes, 'nothing else is held in the inference thread');
  assert.deepEqual(svc.services.inference.stats().loads, { model: 1, adapter: 3 });
});

test('streaming: chunks arrive while the generation runs and concatenate to the non-streamed answer of the same seed', async () => {
  const request = { model: modelA, messages: [{ role: 'user' as const, content: 'Tell me a story.' }], temperature: 1, seed: 42, max_tokens: 300, ...({ ignore_eos: true } as object) };
  let chunksAtEnd = -1;
  const chunks: OpenAI.ChatCompletionChunk[] = [];
  svc.services.inference.once('generation-ended', () => (chunksAtEnd = chunks.length));
  const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
  for await (const chunk of stream) {
    assertOpenAISchema('CreateChatCompletionStreamResponse', chunk);
    chunks.push(chunk);
  }
  assert.ok(chunksAtEnd > 10, `${chunksAtEnd} chunks had arrived when the generation ended`);
  const streamed = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
  const finish = chunks.flatMap((c) => c.choices.map((ch) => ch.finish_reason)).filter(Boolean);
  assert.deepEqual(finish, ['length']);
  const usage = chunks.at(-1)!.usage!;
  assert.equal(chunks.at(-1)!.choices.length, 0);
  assert.equal(usage.completion_tokens, 300);

  const whole = await client.chat.completions.create(request);
  assert.equal(whole.choices[0].message.content, streamed);
  assert.deepEqual(whole.usage, usage);
  assert.equal(whole.choices[0].finish_reason, 'length');
});

test('chat: n choices, stop strings, logprobs in OpenAI’s shape', async () => {
  const completion = await client.chat.completions.create({
    model: modelA,
    messages: [{ role: 'user', content: 'Who wrote Hamlet?' }],
    n: 3,
    temperature: 0,
    stop: ['Paris'],
    logprobs: true,
    top_logprobs: 2,
  });
  assertOpenAISchema('CreateChatCompletionResponse', completion);
  assert.equal(completion.choices.length, 3);
  for (const choice of completion.choices) {
    assert.equal(choice.message.content, 'Shakespeare.');
    assert.equal(choice.finish_reason, 'stop');
    const content = choice.logprobs!.content!;
    assert.equal(content.map((t) => t.token).join('').trim(), 'Shakespeare.');
    for (const t of content) {
      assert.equal(t.top_logprobs.length, 2);
      assert.ok(t.logprob <= 0 && t.logprob >= t.top_logprobs[1].logprob - 1e-9);
    }
  }
  const stopped = await client.chat.completions.create({ model: modelA, messages: [{ role: 'user', content: 'Who wrote Hamlet?' }], temperature: 0, stop: ['spe'] });
  assert.equal(stopped.choices[0].message.content, 'Shake');
  assert.equal(stopped.choices[0].finish_reason, 'stop');
});

test('completions: text and token-id prompts, streaming, echo; OpenAI’s schema', async () => {
  const prompt = 'Once upon a time';
  const whole = await client.completions.create({ model: 'glm-tiny', prompt, max_tokens: 12, temperature: 0.8, seed: 3, logprobs: 2 });
  assertOpenAISchema('CreateCompletionResponse', whole);
  assert.equal(whole.choices[0].logprobs!.tokens!.length, whole.usage!.completion_tokens);
  const chunks: OpenAI.Completion[] = [];
  for await (const chunk of await client.completions.create({ model: 'glm-tiny', prompt, max_tokens: 12, temperature: 0.8, seed: 3, logprobs: 2, stream: true })) {
    assertOpenAISchema('CreateCompletionResponse', chunk);
    chunks.push(chunk);
  }
  assert.equal(chunks.map((c) => c.choices[0].text).join(''), whole.choices[0].text);
  assert.deepEqual(chunks.flatMap((c) => c.choices[0].logprobs?.token_logprobs ?? []), whole.choices[0].logprobs!.token_logprobs);

  const tokens = (await call(`${svc.url}/tokenize`, { key: svc.apiKey, method: 'POST', json: { model: 'glm-tiny', prompt } })).body.tokens as number[];
  const byIds = await client.completions.create({ model: 'glm-tiny', prompt: tokens, max_tokens: 12, temperature: 0.8, seed: 3, echo: true });
  assert.equal(byIds.choices[0].text, `[gMASK]sop${prompt}${whole.choices[0].text}`, 'ids go in as given; echo shows them decoded');
  assert.equal(byIds.usage!.prompt_tokens, tokens.length);
  const batch = await client.completions.create({ model: 'glm-tiny', prompt: [prompt, 'Hello'], n: 2, max_tokens: 3, temperature: 0 });
  assert.deepEqual(batch.choices.map((c) => c.index), [0, 1, 2, 3]);
  assert.equal(batch.choices[0].text, batch.choices[1].text, 'greedy: both choices of a prompt agree');
  assert.equal(batch.choices[2].text, batch.choices[3].text);
  assert.equal(batch.usage!.prompt_tokens, tokens.length + 7);
});

test('models: list, retrieve and delete with the openai client, in OpenAI’s schema; another organization sees none of ours', async () => {
  const list = await client.models.list();
  const ids = list.data.map((m) => m.id);
  assert.ok(ids.includes('glm-tiny') && ids.includes(modelA) && ids.includes(modelB));
  assert.ok(ids.includes(`${modelA}:ckpt-step-80`), 'checkpoints are models too');
  assertOpenAISchema('ListModelsResponse', { object: 'list', data: list.data });
  const a = (await client.models.retrieve(modelA)) as OpenAI.Model & Record<string, unknown>;
  assertOpenAISchema('Model', a);
  assert.equal(a.base_model, 'glm-tiny');
  assert.equal(a.method, 'lora');
  assert.equal(a.artifact, 'peft_lora');

  const otherKey = await svc.newOrganization('other-org');
  const other = new OpenAI({ baseURL: `${svc.url}/v1`, apiKey: otherKey, maxRetries: 0 });
  assert.deepEqual((await other.models.list()).data.map((m) => m.id), ['glm-tiny']);
  await assert.rejects(other.models.retrieve(modelA), (err: unknown) => err instanceof OpenAI.NotFoundError);
  await assert.rejects(other.chat.completions.create({ model: modelA, messages: [{ role: 'user', content: 'hi' }] }), (err: unknown) => err instanceof OpenAI.NotFoundError);
  await assert.rejects(other.models.delete(modelA), (err: unknown) => err instanceof OpenAI.NotFoundError);
  assert.equal((await call(`${svc.url}/v1/models/${encodeURIComponent(modelA)}/artifacts`, { key: otherKey })).status, 404);
  await assert.rejects(client.models.delete('glm-tiny'), (err: unknown) => err instanceof OpenAI.PermissionDeniedError);

  const checkpoint = `${modelB}:ckpt-step-40`;
  const prefix = `jobs/${(await client.models.retrieve(checkpoint) as unknown as { job_id: string }).job_id}/checkpoints/40/export/`;
  const deleted = await client.models.delete(checkpoint);
  assertOpenAISchema('DeleteModelResponse', deleted);
  assert.deepEqual(deleted, { id: checkpoint, object: 'model', deleted: true });
  await assert.rejects(client.models.retrieve(checkpoint), (err: unknown) => err instanceof OpenAI.NotFoundError);
  const left = [];
  for await (const o of svc.services.blobs.list(prefix)) left.push(o.key);
  assert.deepEqual(left, [], 'its objects are gone');
});

test('artifacts: listed with sha256, downloaded one by one and as a tar that tar extracts to the same bytes', async () => {
  const url = `${svc.url}/v1/models/${encodeURIComponent(modelA)}`;
  const list = await call(`${url}/artifacts`, { key: svc.apiKey });
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.data.map((f: { name: string }) => f.name), ['adapter_config.json', 'adapter_model.safetensors']);
  for (const file of list.body.data as { name: string; bytes: number; sha256: string }[]) {
    const res = await fetch(`${url}/artifacts/${file.name}`, { headers: { authorization: `Bearer ${svc.apiKey}` } });
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.equal(bytes.length, file.bytes);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), file.sha256);
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="${file.name}"; filename*=UTF-8''${file.name}`);
  }
  assert.equal((await call(`${url}/artifacts/..%2F..%2Ffiles`, { key: svc.apiKey })).status, 404);
  assert.equal((await call(`${url}/artifacts/nope.bin`, { key: svc.apiKey })).status, 404);

  const tar = await fetch(`${url}/artifacts.tar`, { headers: { authorization: `Bearer ${svc.apiKey}` } });
  assert.equal(tar.headers.get('content-type'), 'application/x-tar');
  const archive = Buffer.from(await tar.arrayBuffer());
  assert.equal(archive.length, Number(tar.headers.get('content-length')));
  const folder = modelA.replace(/[^A-Za-z0-9._-]+/g, '-');
  assert.match(tar.headers.get('content-disposition')!, new RegExp(`filename="${folder}\\.tar"`));
  writeFileSync(join(scratch, 'a.tar'), archive);
  execFileSync('tar', ['-xf', join(scratch, 'a.tar'), '-C', scratch]);
  assert.deepEqual(readdirSync(join(scratch, folder)).sort(), ['adapter_config.json', 'adapter_model.safetensors']);
  for (const file of list.body.data as { name: string; sha256: string }[]) {
    assert.equal(createHash('sha256').update(readFileSync(join(scratch, folder, file.name))).digest('hex'), file.sha256);
  }
});

test('merge: the adapter merged into its base is a new whole model that answers the same; ten cold requests load it once', async () => {
  const res = await call(`${svc.url}/v1/models/${encodeURIComponent(modelA)}/merge`, { key: svc.apiKey, method: 'POST' });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.id, `${modelA}:merged`);
  assert.equal(res.body.artifact, 'hf_model');
  assertOpenAISchema('Model', res.body);
  const again = await call(`${svc.url}/v1/models/${encodeURIComponent(modelA)}/merge`, { key: svc.apiKey, method: 'POST' });
  assert.deepEqual(again.body, res.body, 'merging again returns the same model');
  const files = (await call(`${svc.url}/v1/models/${encodeURIComponent(res.body.id)}/artifacts`, { key: svc.apiKey })).body.data.map((f: { name: string }) => f.name);
  assert.ok(files.includes('config.json') && files.includes('model.safetensors') && files.includes('tokenizer_config.json'), files.join(', '));

  const loads = svc.services.inference.stats().loads.model;
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => answer(res.body.id, PAIRS[i % 4][0])));
  assert.deepEqual(answers, Array.from({ length: 10 }, (_, i) => PAIRS[i % 4][1]));
  assert.equal(svc.services.inference.stats().loads.model, loads + 1, 'ten concurrent cold requests loaded the merged model once');

  const notAdapter = await call(`${svc.url}/v1/models/${encodeURIComponent(res.body.id)}/merge`, { key: svc.apiKey, method: 'POST' });
  assert.equal(notAdapter.status, 400);
  assert.equal(errorOf(notAdapter).param, 'model');
  assert.equal((await call(`${svc.url}/v1/models/glm-tiny/merge`, { key: svc.apiKey, method: 'POST' })).status, 400);
});

test('a client that disconnects mid-stream stops its generation', async () => {
  const ended = new Promise<{ completionTokens: number }>((resolve) => svc.services.inference.once('generation-ended', resolve));
  const abort = new AbortController();
  const res = await fetch(`${svc.url}/v1/chat/completions`, {
    method: 'POST',
    signal: abort.signal,
    headers: { authorization: `Bearer ${svc.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'glm-tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 480, ignore_eos: true, stream: true }),
  });
  const reader = res.body!.getReader();
  await reader.read();
  await reader.read();
  abort.abort();
  const { completionTokens } = await ended;
  assert.ok(completionTokens < 480, `${completionTokens} tokens generated before the stop`);
  assert.equal(svc.services.inference.stats().pending, 0);
});

test('bad requests: unknown model 404, context overflow 400 naming the limit, bad fields 400 naming the field', async () => {
  const chat = (json: object) => call(`${svc.url}/v1/chat/completions`, { key: svc.apiKey, method: 'POST', json: { model: 'glm-tiny', messages: [{ role: 'user', content: 'hi' }], ...json } });
  await assert.rejects(client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'hi' }] }), (err: unknown) => err instanceof OpenAI.NotFoundError && err.code === 'model_not_found');

  const overflow = await chat({ max_tokens: 600 });
  assert.equal(overflow.status, 400);
  assert.equal(errorOf(overflow).code, 'context_length_exceeded');
  assert.match(errorOf(overflow).message, /maximum context length is 512 tokens.*607 tokens \(7 in the messages, 600 in the completion\)/);
  const longPrompt = await chat({ messages: [{ role: 'user', content: 'x'.repeat(600) }] });
  assert.equal(longPrompt.status, 400);
  assert.equal(errorOf(longPrompt).code, 'context_length_exceeded');
  const huge = await chat({ messages: [{ role: 'user', content: 'x'.repeat(3_000_000) }] });
  assert.equal(huge.status, 400);
  assert.match(errorOf(huge).message, /3000000 characters; .* at most 4096 characters/);

  const cases: [object, string][] = [
    [{ temperature: 5 }, 'temperature'],
    [{ n: 1000 }, 'n'],
    [{ stop: Array.from({ length: 10_000 }, (_, i) => `s${i}`) }, 'stop'],
    [{ top_logprobs: 3 }, 'top_logprobs'],
    [{ logit_bias: { 99999: 5 } }, 'logit_bias.99999'],
    [{ max_tokens: 0 }, 'max_tokens'],
    [{ tools: [{ type: 'function', function: { name: 'f' } }] }, 'tools'],
    [{ response_format: { type: 'json_object' } }, 'response_format.type'],
    [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }, 'messages[0].content[0]'],
    [{ messages: [{ role: 'wizard', content: 'hi' }] }, 'messages[0].role'],
    [{ messages: [] }, 'messages'],
    [{ frobnicate: true }, 'frobnicate'],
  ];
  for (const [body, param] of cases) {
    const res = await chat(body);
    assert.equal(res.status, 400, `${JSON.stringify(body).slice(0, 80)} → ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
    assert.equal(errorOf(res).param, param, JSON.stringify(res.body).slice(0, 300));
  }
  const completion = (json: object) => call(`${svc.url}/v1/completions`, { key: svc.apiKey, method: 'POST', json: { model: 'glm-tiny', prompt: 'hi', ...json } });
  for (const [body, param] of [
    [{ prompt: [1, 2, 99999] }, 'prompt[2]'],
    [{ prompt: ['a', 'b', 'c'], n: 8 }, 'n'],
    [{ logprobs: 6 }, 'logprobs'],
    [{ best_of: 3 }, 'best_of'],
    [{ suffix: 'end' }, 'suffix'],
    [{ max_tokens: 510 }, 'prompt'],
  ] as [object, string][]) {
    const res = await completion(body);
    assert.equal(res.status, 400, `${JSON.stringify(body)} → ${res.status}`);
    assert.equal(errorOf(res).param, param);
  }
  assert.equal(svc.services.inference.stats().pending, 0, 'no refused request reached the pool');
});
