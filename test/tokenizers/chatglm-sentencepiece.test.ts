import test from 'node:test';
import assert from 'node:assert/strict';
import {
  CHATGLM2_SPECIAL_TOKENS,
  CHATGLM3_SPECIAL_TOKENS,
  countSentencePieces,
  loadChatGlmSentencePiece,
} from '../../src/model/tokenizers/chatglm-sentencepiece.ts';
import { readFileSync } from 'node:fs';
import { CHATGLM3_MODEL, chatglm3Reference, sha256 } from './fixtures.ts';
import { testReferenceStrings } from './reference-strings.ts';

const chatglm3 = () => loadChatGlmSentencePiece(CHATGLM3_MODEL, CHATGLM3_SPECIAL_TOKENS);

test('loading the SentencePiece package leaves process-wide error handlers alone', async () => {
  // Some emscripten builds (the sentencepiece-js package) install handlers that re-throw everything.
  // This is the file's first test, so the package is loaded here for the first time.
  const before = [process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')];
  await chatglm3();
  assert.deepEqual([process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')], before);
});

test('the fixture file is the one the reference ids were computed from', () => {
  assert.equal(sha256(CHATGLM3_MODEL), chatglm3Reference.sha256);
});

testReferenceStrings('ChatGLM3 SentencePiece reproduces every fixture string', chatglm3, chatglm3Reference);

test('ChatGLM3 numbers THUDM special tokens after the 64,789 pieces', async () => {
  assert.equal(countSentencePieces(readFileSync(CHATGLM3_MODEL)), 64789);
  const tok = await chatglm3();
  assert.deepEqual({ ...tok.specialTokens }, chatglm3Reference.special_tokens);
  assert.equal(tok.vocabSize, chatglm3Reference.vocab_size);
  assert.equal(tok.kind, 'chatglm-sentencepiece');
  assert.equal(tok.eosId, 2);
  assert.equal(tok.padId, 0);
});

test('ChatGLM2 has only the five GLM special tokens; role-token text stays ordinary text', async () => {
  const tok = await loadChatGlmSentencePiece(CHATGLM3_MODEL, CHATGLM2_SPECIAL_TOKENS);
  assert.equal(tok.vocabSize, 64794);
  assert.deepEqual(Object.keys(tok.specialTokens), ['[MASK]', '[gMASK]', '[sMASK]', 'sop', 'eop']);
  const userAlone = chatglm3Reference.strings.find((s) => s.name === 'special_user_alone')!;
  assert.deepEqual(tok.encode(userAlone.text, { specials: true }), userAlone.ids);
});

test('special ids decode as literal text between separately decoded runs', async () => {
  const tok = await chatglm3();
  const { '[gMASK]': gmask, sop, '<|user|>': user } = tok.specialTokens;
  // Each run loses its own dummy-prefix space: "[gMASK]sop<|user|>\n 你好".
  const ids = [gmask, sop, user, ...tok.encode('\n'), ...tok.encode('你好')];
  assert.equal(tok.decode(ids), '[gMASK]sop<|user|>\n 你好');
});

test('decoding an id outside the vocabulary is a RangeError', async () => {
  const tok = await chatglm3();
  assert.throws(() => tok.decode([tok.vocabSize]), RangeError);
  assert.throws(() => tok.decode([65000]), RangeError); // a padded embedding row, no token
  assert.throws(() => tok.decode([-1]), RangeError);
});

test('countSentencePieces rejects bytes that are not a SentencePiece model', () => {
  assert.throws(() => countSentencePieces(Buffer.from('not a protobuf at all\n')), /SentencePiece|protobuf/);
});
