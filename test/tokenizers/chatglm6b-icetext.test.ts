// ChatGLM-6B (v1)'s ice_text tokenizer against reference_chatglm6b.json: every fixture string's ids,
// pieces and decodings, the image-token offset, special ids and the Hugging Face special-token split.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chatglm6bTemplate } from '../../src/model/chat-templates/chatglm6b.ts';
import { countSentencePieces } from '../../src/model/tokenizers/chatglm-sentencepiece.ts';
import { cleanUpTokenization, DEFAULT_NUM_IMAGE_TOKENS, loadChatGlm6bIceText } from '../../src/model/tokenizers/chatglm6b-icetext.ts';
import { loadTokenizer } from '../../src/model/tokenizers/load.ts';
import { readSentencePieces } from '../../src/model/tokenizers/sentencepiece-pieces.ts';
import { FIXTURES, makeModelFolder, sha256 } from './fixtures.ts';

interface V1String {
  name: string;
  text: string;
  ids: number[];
  pieces: string[];
  ids_hf: number[];
  decoded: string;
  decoded_hf: string;
  roundtrip: boolean;
}

const reference = JSON.parse(readFileSync(join(FIXTURES, 'reference_chatglm6b.json'), 'utf8')).tokenizers.chatglm6b as {
  file: string;
  sha256: string;
  sentencepiece_piece_count: number;
  num_image_tokens: number;
  special_tokens: Record<string, number>;
  ids_roles: Record<string, number>;
  suffix_ids: number[];
  whitespace_tokens: Record<string, number | string>;
  byte_fallback: { first_id: number };
  legacy_num_image_tokens_20000: { text: string; ids: number[]; ids_hf: number[] };
  strings: V1String[];
};
const ICE_TEXT = join(FIXTURES, reference.file);
const slimTokenizer = loadChatGlm6bIceText(ICE_TEXT, { num_image_tokens: reference.num_image_tokens });
const tokenizer = () => slimTokenizer;

test('the fixture file is the one the reference ids were computed from', () => {
  assert.equal(sha256(ICE_TEXT), reference.sha256);
});

test('the piece table of ice_text.model has every piece where the reference puts it', async (t) => {
  const pieces = readSentencePieces(readFileSync(ICE_TEXT));
  assert.equal(pieces.length, reference.sentencepiece_piece_count);
  assert.equal(countSentencePieces(readFileSync(ICE_TEXT)), pieces.length);
  for (const [text, id] of Object.entries(reference.special_tokens)) assert.equal(pieces[id], text, text);
  for (const [text, id] of Object.entries(reference.whitespace_tokens)) if (typeof id === 'number') assert.equal(pieces[id], text, text);
  assert.equal(pieces[reference.byte_fallback.first_id], '<0x00>');
  for (const s of reference.strings) {
    await t.test(s.name, () => assert.deepEqual(s.ids.map((id) => pieces[id]), s.pieces));
  }
});

test('special ids, eos and pad are read from the model file', async () => {
  const tok = await tokenizer();
  assert.equal(tok.kind, 'chatglm6b-icetext');
  assert.deepEqual({ ...tok.specialTokens }, reference.special_tokens);
  assert.equal(tok.vocabSize, reference.sentencepiece_piece_count);
  assert.equal(tok.eosId, reference.ids_roles['eos_token_id (<eop>)']);
  assert.equal(tok.padId, reference.ids_roles.pad_token_id);
  assert.deepEqual([tok.specialTokens['[gMASK]'], tok.specialTokens['<sop>']], reference.suffix_ids);
});

test('every fixture string: THUDM ids, ids with [gMASK] <sop> after the text, and both decodings', async (t) => {
  const tok = await tokenizer();
  const template = chatglm6bTemplate(tok);
  assert.equal(reference.strings.length, 29);
  for (const s of reference.strings) {
    await t.test(s.name, () => {
      assert.deepEqual(tok.encode(s.text), s.ids, 'encode');
      // The fixture strings hold no transformers special-token text, so the HF path gives the same ids.
      assert.deepEqual(tok.encode(s.text, { specials: true }), s.ids, 'encode with specials');
      // A query without history is the bare text: its prompt is tokenizer.encode(text) of Hugging Face.
      assert.deepEqual(template.generationPrompt([{ role: 'user', content: s.text }]), s.ids_hf, 'ids_hf');
      assert.equal(tok.decode(s.ids), s.decoded, 'decode');
      assert.equal(tok.decode(s.ids_hf), s.decoded, 'control ids decode to nothing');
      assert.equal(cleanUpTokenization(tok.decode(s.ids)), s.decoded_hf, 'Hugging Face decode');
      assert.equal(tok.decode(s.ids) === s.text, s.roundtrip, 'roundtrip');
    });
  }
});

test('without num_image_tokens in the config every id moves up by THUDM’s default 20000', async () => {
  const legacy = reference.legacy_num_image_tokens_20000;
  const tok = await loadChatGlm6bIceText(ICE_TEXT);
  assert.equal(DEFAULT_NUM_IMAGE_TOKENS, 20000);
  assert.deepEqual(tok.encode(legacy.text), legacy.ids);
  assert.deepEqual(chatglm6bTemplate(tok).generationPrompt([{ role: 'user', content: legacy.text }]), legacy.ids_hf);
  assert.equal(tok.vocabSize, reference.sentencepiece_piece_count + 20000);
  assert.equal(tok.eosId, reference.special_tokens['<eop>'] + 20000);
  assert.equal(tok.padId, reference.special_tokens['<pad>'] + 20000);
  // Ids below the offset are image tokens: decoding drops them.
  assert.equal(tok.decode([7, 19999, ...legacy.ids, 0]), legacy.text);
});

test('the Hugging Face path cuts out <sop> <eop> [MASK] <pad> <unk> and the whitespace touching them, not [gMASK]', async () => {
  const tok = await tokenizer();
  const ids = tok.specialTokens;
  assert.deepEqual(tok.encode('你好<eop>世界', { specials: true }), [...tok.encode('你好'), ids['<eop>'], ...tok.encode('世界')]);
  assert.deepEqual(
    tok.encode('line one \n<sop>\n  line two', { specials: true }),
    [...tok.encode('line one'), ids['<sop>'], ...tok.encode('line two')],
  );
  assert.deepEqual(
    tok.encode(' <pad><unk> [MASK] ', { specials: true }),
    [ids['<pad>'], ids['<unk>'], ids['[MASK]']],
  );
  assert.deepEqual(tok.encode('a [gMASK] b', { specials: true }), tok.encode('a [gMASK] b'));
  assert.ok(!tok.encode('a [gMASK] b').includes(ids['[gMASK]']));
  // Plain encoding treats all of them as text.
  assert.ok(!tok.encode('<eop>').includes(ids['<eop>']));
});

test('decoding an id outside the vocabulary is a RangeError; <unk> decodes as SentencePiece writes it', async () => {
  const tok = await tokenizer();
  assert.throws(() => tok.decode([tok.vocabSize]), RangeError);
  assert.throws(() => tok.decode([130400]), RangeError); // an embedding row of the model with no piece
  assert.throws(() => tok.decode([-1]), RangeError);
  assert.equal(tok.decode([tok.specialTokens['<unk>']]), ' ⁇ ');
});

test('loadTokenizer reads a v1 folder with its tokenizer_config.json', async () => {
  const folder = (config: object) =>
    makeModelFolder({ 'ice_text.model': { copy: ICE_TEXT }, 'tokenizer_config.json': { tokenizer_class: 'ChatGLMTokenizer', ...config } });
  const slim = await loadTokenizer(folder({ num_image_tokens: 0, remove_space: false, do_lower_case: false }));
  assert.equal(slim.kind, 'chatglm6b-icetext');
  assert.deepEqual(slim.encode(reference.legacy_num_image_tokens_20000.text), reference.strings.find((s) => s.name === 'zh_hello')!.ids);
  const legacy = await loadTokenizer(folder({}));
  assert.deepEqual(legacy.encode(reference.legacy_num_image_tokens_20000.text), reference.legacy_num_image_tokens_20000.ids);

  await assert.rejects(loadTokenizer(folder({ num_image_tokens: '0' })), /num_image_tokens must be a non-negative integer/);
  await assert.rejects(loadTokenizer(folder({ num_image_tokens: 0, do_lower_case: true })), /do_lower_case: true is not supported/);
  const notIceText = makeModelFolder({
    'ice_text.model': { copy: join(FIXTURES, 'chatglm3', 'tokenizer.model') },
    'tokenizer_config.json': { tokenizer_class: 'ChatGLMTokenizer', num_image_tokens: 0 },
  });
  await assert.rejects(loadTokenizer(notIceText), /has no \[MASK\] piece: not ChatGLM-6B's ice_text\.model/);
});
