// Serving model folders placed in MODELS_DIR: the ChatGLM3 fixture model scores prompts exactly
// (echo + logprobs + max_tokens 0 equal the log-softmax of the reference logits), /tokenize and
// /detokenize reproduce the ChatGLM3 tokenizer fixture, and a 1 MiB memory budget evicts the least
// recently used model and refuses one that cannot fit.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { logSoftmax } from '../../src/model/sampling.ts';
import { BYTE_TOKENIZER_CLASS } from '../../src/model/tokenizers/byte.ts';
import { call, errorOf } from '../helpers/http.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { reference, TINY_CHATGLM3 } from '../model/fixtures.ts';

interface TokenizerReference {
  prefix_ids: number[];
  strings: { name: string; text: string; ids: number[]; decoded: string }[];
  conversations: { name: string; messages: { role: string; content: string }[]; generation: { num_messages: number; input_ids: number[] }; training: { input_ids: number[] } }[];
}
const TOKENIZERS = join('test', 'fixtures', 'tokenizers');
const chatglm3 = (JSON.parse(readFileSync(join(TOKENIZERS, 'reference.json'), 'utf8')) as { tokenizers: { chatglm3: TokenizerReference } }).tokenizers.chatglm3;

const modelsDir = mkdtempSync(join(tmpdir(), 'glmtune-models-'));
let svc: TestService;

/** The fixture model's weights in MODELS_DIR/name, with the given tokenizer files. */
function place(name: string, tokenizerConfig: object, files: string[] = []): void {
  const dir = join(modelsDir, name);
  mkdirSync(dir);
  for (const file of ['config.json', 'model.safetensors']) copyFileSync(join(TINY_CHATGLM3, file), join(dir, file));
  for (const file of files) copyFileSync(join(TOKENIZERS, 'chatglm3', file), join(dir, file));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
}

before(async () => {
  // Ids are what the fixture is about: a byte-level tokenizer gives every id below 128 a string.
  place('scorer', { tokenizer_class: BYTE_TOKENIZER_CLASS });
  place('scorer-copy', { tokenizer_class: BYTE_TOKENIZER_CLASS });
  place('chatglm3-tokenizer', { tokenizer_class: 'ChatGLMTokenizer' }, ['tokenizer.model']);
  svc = await startTestService({ env: { MODELS_DIR: modelsDir, INFERENCE_MEMORY_MB: '1' } });
});
after(async () => {
  await svc.destroy();
  rmSync(modelsDir, { recursive: true, force: true });
});

const post = (path: string, json: object) => call(`${svc.url}${path}`, { key: svc.apiKey, method: 'POST', json });

test('echo + logprobs + max_tokens 0 score the prompt: the log-softmax of the fixture logits, to 1e-4', async () => {
  for (const forward of reference.forward) {
    const ids = forward.input_ids[0];
    const res = await post('/v1/completions', { model: 'scorer', prompt: ids, echo: true, logprobs: 5, max_tokens: 0 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [choice] = res.body.choices;
    assert.equal(choice.finish_reason, 'length');
    assert.deepEqual(res.body.usage, { prompt_tokens: ids.length, completion_tokens: 0, total_tokens: ids.length });
    const { token_logprobs: logprobs, top_logprobs: tops, tokens } = choice.logprobs;
    assert.equal(tokens.join(''), choice.text, 'echo: the prompt’s text, token by token');
    assert.equal(logprobs.length, ids.length);
    assert.equal(logprobs[0], null, 'the first token has no context');
    assert.equal(tops[0], null);
    for (let t = 1; t < ids.length; t++) {
      const expected = logSoftmax(forward.logits[0][t - 1]);
      assert.ok(Math.abs(logprobs[t] - expected[ids[t]]) < 1e-4, `${forward.name} token ${t}: ${logprobs[t]} vs ${expected[ids[t]]}`);
      const best = [...expected].sort((a, b) => b - a).slice(0, 5);
      const got = (Object.values(tops[t]) as number[]).sort((a, b) => b - a);
      assert.equal(got.length, 5);
      got.forEach((value, k) => assert.ok(Math.abs(value - best[k]) < 1e-4, `${forward.name} token ${t} alternative ${k}`));
    }
  }
});

test('/tokenize reproduces the ChatGLM3 tokenizer fixture (text with and without special tokens, chat prompts, training ids); /detokenize inverts it', async () => {
  const model = 'chatglm3-tokenizer';
  for (const s of chatglm3.strings) {
    const plain = await post('/tokenize', { model, prompt: s.text, add_special_tokens: false });
    assert.deepEqual(plain.body.tokens, s.ids, s.name);
    assert.equal(plain.body.count, s.ids.length);
    assert.equal(plain.body.max_model_len, 256);
    const special = await post('/tokenize', { model, prompt: s.text });
    assert.deepEqual(special.body.tokens, [...chatglm3.prefix_ids, ...s.ids], `${s.name} with [gMASK] sop`);
    assert.equal((await post('/detokenize', { model, tokens: s.ids })).body.prompt, s.decoded, s.name);
  }
  for (const c of chatglm3.conversations) {
    const prompt = await post('/tokenize', { model, messages: c.messages.slice(0, c.generation.num_messages), return_token_strs: true });
    assert.deepEqual(prompt.body.tokens, c.generation.input_ids, c.name);
    assert.equal(prompt.body.token_strs.length, c.generation.input_ids.length);
    const training = await post('/tokenize', { model, messages: c.messages, add_generation_prompt: false });
    assert.deepEqual(training.body.tokens, c.training.input_ids, `${c.name} as trained`);
  }
  // This folder's tokenizer knows ids its model has no embedding for: generation is refused, not attempted.
  const chat = await post('/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(chat.status, 400);
  assert.equal(errorOf(chat).param, 'messages');
  assert.match(errorOf(chat).message, /Token id 64790 \(position 0\) is not in this model's vocabulary \(0 to 127\)/);
  const bad = await post('/tokenize', { model, prompt: 'x', messages: [{ role: 'user', content: 'x' }] });
  assert.equal(bad.status, 400);
  const outside = await post('/detokenize', { model, tokens: [1, 99_999] });
  assert.equal(errorOf(outside).param, 'tokens[1]');
  assert.equal((await post('/tokenize', { model: 'nope', prompt: 'x' })).status, 404);
  assert.equal((await call(`${svc.url}/tokenize`, { method: 'POST', json: { model, prompt: 'x' } })).status, 401);
});

test('the memory budget: the least recently used model is evicted for a new one, and a model larger than the budget is refused with 503', async () => {
  const use = async (model: string) => {
    const res = await post('/v1/completions', { model, prompt: [5, 6, 7], max_tokens: 2, temperature: 0 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  await use('scorer');
  await use('chatglm3-tokenizer');
  await use('scorer'); // now chatglm3-tokenizer is the least recently used
  const resident = () => svc.services.inference.stats().entries.map((e) => e.key).sort();
  assert.deepEqual(resident(), ['base:chatglm3-tokenizer', 'base:scorer']);
  await use('scorer-copy');
  assert.deepEqual(resident(), ['base:scorer', 'base:scorer-copy']);
  assert.equal(svc.services.inference.stats().evictions, 1);
  const { usedBytes, budgetBytes } = svc.services.inference.stats();
  assert.ok(usedBytes <= budgetBytes, `${usedBytes} of ${budgetBytes} bytes`);

  const tooBig = await post('/v1/chat/completions', { model: 'glm-tiny', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(tooBig.status, 503);
  assert.equal(errorOf(tooBig).code, 'insufficient_memory');
  assert.match(errorOf(tooBig).message, /INFERENCE_MEMORY_MB/);
  assert.deepEqual(resident(), ['base:scorer', 'base:scorer-copy'], 'nothing was evicted for a model that cannot fit');
});
