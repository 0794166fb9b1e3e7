import test from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTokenizer } from '../../src/model/tokenizers/load.ts';
import { byteTokenizer } from '../../src/model/tokenizers/byte.ts';
import {
  CHATGLM3_MODEL,
  FIXTURES,
  chatglm2Folder,
  chatglm3Folder,
  chatglm3Reference,
  glm4Folder,
  glm4Reference,
  makeModelFolder,
} from './fixtures.ts';
import { smallByteLevelTokenizerJson } from './tokenizer-json-builders.ts';

test('ChatGLMTokenizer + tokenizer.model is ChatGLM3 SentencePiece', async () => {
  const tok = await loadTokenizer(chatglm3Folder());
  assert.equal(tok.kind, 'chatglm-sentencepiece');
  assert.deepEqual({ ...tok.specialTokens }, chatglm3Reference.special_tokens);
  const s = chatglm3Reference.strings[4];
  assert.deepEqual(tok.encode(s.text), s.ids);
});

test("ChatGLM2 is told apart by its remote-code tokenizer, which declares no role tokens", async () => {
  const tok = await loadTokenizer(chatglm2Folder());
  assert.deepEqual(Object.keys(tok.specialTokens), ['[MASK]', '[gMASK]', '[sMASK]', 'sop', 'eop']);
  const withRoles = makeModelFolder({
    'tokenizer.model': { copy: CHATGLM3_MODEL },
    'tokenizer_config.json': { tokenizer_class: 'ChatGLMTokenizer' },
    'tokenization_chatglm.py': 'role_special_tokens = ["<|system|>", "<|user|>", "<|assistant|>", "<|observation|>"]\n',
  });
  assert.equal((await loadTokenizer(withRoles)).specialTokens['<|observation|>'], 64797);
});

test("tokenizer_config.json's added_tokens_decoder gives the special ids, and tells ChatGLM2 from ChatGLM3", async () => {
  const declared = (tokens: Record<string, string>) =>
    makeModelFolder({
      'tokenizer.model': { copy: CHATGLM3_MODEL },
      'tokenizer_config.json': {
        tokenizer_class: 'ChatGLMTokenizer',
        added_tokens_decoder: Object.fromEntries(Object.entries(tokens).map(([id, content]) => [id, { content, special: true }])),
      },
    });
  const chatglm2 = await loadTokenizer(declared({ '64790': '[gMASK]', '64792': 'sop' }));
  assert.equal(chatglm2.vocabSize, 64794);
  const moved = await loadTokenizer(declared({ '64800': '<|user|>' }));
  assert.equal(moved.specialTokens['<|user|>'], 64800);
  assert.equal(moved.specialTokens['<|system|>'], 64794);
});

test('ChatGLM4Tokenizer + tokenizer.model is GLM-4 tiktoken', async () => {
  const tok = await loadTokenizer(glm4Folder());
  assert.equal(tok.kind, 'glm4-tiktoken');
  const s = glm4Reference.strings[4];
  assert.deepEqual(tok.encode(s.text), s.ids);
});

test('GlmTuneByteTokenizer is the glm-tiny byte tokenizer', async () => {
  const dir = makeModelFolder({ 'tokenizer_config.json': { tokenizer_class: 'GlmTuneByteTokenizer' } });
  assert.equal(await loadTokenizer(dir), byteTokenizer);
});

test('a tokenizer.json is used when the class is not a THUDM one', async () => {
  const dir = makeModelFolder({
    'tokenizer.json': smallByteLevelTokenizerJson([], [{ content: '</s>', special: true }]),
    'tokenizer_config.json': { tokenizer_class: 'PreTrainedTokenizerFast', eos_token: '</s>' },
  });
  const tok = await loadTokenizer(dir);
  assert.equal(tok.kind, 'hf-tokenizer-json');
  assert.equal(tok.eosId, 256);
});

test('tokenizers are cached by folder path', async () => {
  const dir = glm4Folder();
  const first = await loadTokenizer(dir);
  assert.equal(await loadTokenizer(`${dir}/`), first);
  assert.equal(await loadTokenizer(join(dir, '..', dir.split('/').at(-1)!)), first);
});

test('errors name the folder and what is missing', async () => {
  const missing = join(FIXTURES, 'no-such-model');
  await assert.rejects(loadTokenizer(missing), (e: Error) => e.message.includes(missing) && /no such folder/.test(e.message));

  const empty = makeModelFolder({});
  await assert.rejects(loadTokenizer(empty), (e: Error) => e.message.includes(empty) && /no tokenizer files/.test(e.message));

  const noConfig = makeModelFolder({ 'tokenizer.model': { copy: CHATGLM3_MODEL } });
  await assert.rejects(loadTokenizer(noConfig), /no tokenizer_config\.json/);

  const noModel = makeModelFolder({ 'tokenizer_config.json': { tokenizer_class: 'ChatGLMTokenizer' } });
  await assert.rejects(loadTokenizer(noModel), /ChatGLMTokenizer but tokenizer\.model is missing/);

  const noGlm4Model = makeModelFolder({ 'tokenizer_config.json': { tokenizer_class: 'ChatGLM4Tokenizer' } });
  await assert.rejects(loadTokenizer(noGlm4Model), /ChatGLM4Tokenizer but tokenizer\.model is missing/);

  const unknown = makeModelFolder({ 'tokenizer_config.json': { tokenizer_class: 'LlamaTokenizer' } });
  await assert.rejects(loadTokenizer(unknown), /"LlamaTokenizer" is not supported and there is no tokenizer\.json/);

  const badJson = makeModelFolder({ 'tokenizer_config.json': '{"tokenizer_class": ' });
  await assert.rejects(loadTokenizer(badJson), /tokenizer_config\.json is not valid JSON/);

  const jsonWithoutConfig = makeModelFolder({ 'tokenizer.json': smallByteLevelTokenizerJson([], []) });
  await assert.rejects(loadTokenizer(jsonWithoutConfig), /tokenizer\.json needs a tokenizer_config\.json/);

  const wrongFile = makeModelFolder({
    'tokenizer.model': { copy: join(FIXTURES, 'glm4', 'tokenizer_meta.json') },
    'tokenizer_config.json': { tokenizer_class: 'ChatGLM4Tokenizer' },
  });
  await assert.rejects(loadTokenizer(wrongFile), /not a dense tiktoken rank file/);
});

test('a folder that failed to load loads once it is fixed', async () => {
  const dir = makeModelFolder({});
  await assert.rejects(loadTokenizer(dir));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'GlmTuneByteTokenizer' }));
  assert.equal(await loadTokenizer(dir), byteTokenizer);
});
