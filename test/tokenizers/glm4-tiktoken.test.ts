import test from 'node:test';
import assert from 'node:assert/strict';
import { GLM4_SPECIAL_TOKENS, loadGlm4Tiktoken } from '../../src/model/tokenizers/glm4-tiktoken.ts';
import { GLM4_MODEL, glm4Reference, sha256 } from './fixtures.ts';
import { testReferenceStrings } from './reference-strings.ts';

const glm4 = () => loadGlm4Tiktoken(GLM4_MODEL);

test('the fixture file is the one the reference ids were computed from', () => {
  assert.equal(sha256(GLM4_MODEL), glm4Reference.sha256);
});

testReferenceStrings('GLM-4 tiktoken reproduces every fixture string', glm4, glm4Reference);

test('GLM-4 numbers its 14 special tokens after the 151,329 ranks', async () => {
  const tok = await glm4();
  assert.deepEqual({ ...tok.specialTokens }, glm4Reference.special_tokens);
  assert.deepEqual(Object.keys(tok.specialTokens), [...GLM4_SPECIAL_TOKENS]);
  assert.equal(tok.vocabSize, glm4Reference.vocab_size);
  assert.equal(tok.kind, 'glm4-tiktoken');
  assert.equal(tok.eosId, glm4Reference.special_tokens['<|endoftext|>']);
  assert.equal(tok.padId, tok.eosId);
});

test('special token ids declared by tokenizer_config.json take precedence', async () => {
  const tok = await loadGlm4Tiktoken(GLM4_MODEL, { '<|endoftext|>': 151400 });
  assert.equal(tok.eosId, 151400);
  assert.equal(tok.vocabSize, 151401);
  assert.equal(tok.decode([151400]), '<|endoftext|>');
});

test('a token sequence cut inside a UTF-8 character decodes to U+FFFD', async () => {
  const tok = await glm4();
  const emoji = glm4Reference.strings.find((s) => s.name === 'emoji')!;
  // Byte-level tokens do not align with characters: some prefix of the ids ends inside one.
  const cut = emoji.ids.findIndex((_, i) => tok.decode(emoji.ids.slice(0, i + 1)).includes('\uFFFD'));
  assert.ok(cut >= 0, 'some prefix of the emoji string ends inside a character');
});

test('decoding an id outside the vocabulary is a RangeError, and the encoder still works after it', async () => {
  const tok = await glm4();
  assert.throws(() => tok.decode([tok.vocabSize]), RangeError);
  assert.throws(() => tok.decode([151500]), RangeError);
  assert.deepEqual(tok.encode(glm4Reference.strings[2].text), glm4Reference.strings[2].ids);
});
