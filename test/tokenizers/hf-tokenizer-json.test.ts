import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHfTokenizer } from '../../src/model/tokenizers/hf-tokenizer-json.ts';
import { loadTokenizer } from '../../src/model/tokenizers/load.ts';
import { GLM4_SPECIAL_TOKENS } from '../../src/model/tokenizers/glm4-tiktoken.ts';
import { FIXTURES, GLM4_MODEL, glm4Reference, makeModelFolder } from './fixtures.ts';
import { testReferenceStrings } from './reference-strings.ts';
import { byteSymbols, smallByteLevelTokenizerJson, tiktokenToTokenizerJson } from './tokenizer-json-builders.ts';

// GLM-4's rank file rewritten as a byte-level BPE tokenizer.json, as THUDM's "-hf" GLM-4 releases ship it.
const glm4Meta = JSON.parse(readFileSync(join(FIXTURES, 'glm4', 'tokenizer_meta.json'), 'utf8')) as { pat_str: string };
let glm4Folder: string | undefined;
function glm4TokenizerJsonFolder(): string {
  glm4Folder ??= makeModelFolder({
    'tokenizer.json': tiktokenToTokenizerJson(GLM4_MODEL, glm4Meta.pat_str, GLM4_SPECIAL_TOKENS).tokenizerJson,
    'tokenizer_config.json': { tokenizer_class: 'PreTrainedTokenizerFast', eos_token: '<|endoftext|>', pad_token: '<|endoftext|>' },
  });
  return glm4Folder;
}

testReferenceStrings(
  'GLM-4 as tokenizer.json reproduces every fixture string',
  () => loadTokenizer(glm4TokenizerJsonFolder()),
  glm4Reference,
);

test('GLM-4 as tokenizer.json: special tokens, vocabulary size and eos from the files', async () => {
  const tok = await loadTokenizer(glm4TokenizerJsonFolder());
  assert.equal(tok.kind, 'hf-tokenizer-json');
  assert.deepEqual({ ...tok.specialTokens }, glm4Reference.special_tokens);
  assert.equal(tok.vocabSize, glm4Reference.vocab_size);
  assert.equal(tok.eosId, glm4Reference.special_tokens['<|endoftext|>']);
  assert.equal(tok.padId, tok.eosId);
});

// A tiny GPT-2-style tokenizer: bytes, merges h+e, l+l, he+ll, hell+o, one special and one ordinary added token.
const small = smallByteLevelTokenizerJson(['h e', 'l l', 'he ll', 'hell o'], [
  { content: '<|end|>', special: true },
  { content: '<tool>', special: false },
]);
const vocab = small.model.vocab;
const [END, TOOL] = [small.added_tokens[0].id, small.added_tokens[1].id];
const symbolIds = (text: string) => Array.from(byteSymbols(text), (symbol) => vocab[symbol]);

test('a small byte-level BPE tokenizer.json: merges, added tokens and specials', () => {
  const tok = createHfTokenizer(small, { eos_token: { content: '<|end|>' } });
  assert.deepEqual(tok.encode('hello'), [vocab.hello]);
  assert.deepEqual(tok.encode('hello hell'), [vocab.hello, ...symbolIds(' '), vocab.hell]);
  // The special token's text is ordinary text unless specials are asked for…
  assert.deepEqual(tok.encode('hello<|end|>'), [vocab.hello, ...symbolIds('<|'), vocab.e, ...symbolIds('nd|>')]);
  assert.deepEqual(tok.encode('hello<|end|>', { specials: true }), [vocab.hello, END]);
  // …while an ordinary added token is always matched, as Hugging Face does.
  assert.deepEqual(tok.encode('x<tool>y'), [vocab.x, TOOL, vocab.y]);
  assert.equal(tok.decode([vocab.hello, END, TOOL, ...symbolIds(' 你好')]), 'hello<|end|><tool> 你好');
  assert.deepEqual({ ...tok.specialTokens }, { '<|end|>': END });
  assert.equal(tok.vocabSize, TOOL + 1);
  assert.equal(tok.eosId, END);
  assert.equal(tok.padId, END); // no pad_token: the eos
  assert.throws(() => tok.decode([TOOL + 1]), RangeError);
});

test('a tokenizer.json whose config names no eos token it has is an error', () => {
  assert.throws(() => createHfTokenizer(small, {}), /eos_token/);
  assert.throws(() => createHfTokenizer(small, { eos_token: '</s>' }), /eos_token/);
  assert.throws(() => createHfTokenizer({ added_tokens: [] }, { eos_token: '<|end|>' }), /no "model"/);
});
