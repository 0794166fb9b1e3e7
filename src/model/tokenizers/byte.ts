// The byte-level tokenizer of the built-in glm-tiny model: UTF-8 bytes plus ChatGLM3's special tokens,
// so that Chinese, English and emoji all work with a 268-id vocabulary. Its folder declares it with
// tokenizer_config.json {"tokenizer_class": "GlmTuneByteTokenizer"}.
//
// Id layout (agreed with the model): 0 <unk> (also pad), 1 <s>, 2 </s> (eos), byte b → b + 3,
// then ChatGLM3's nine special tokens from 259. Like THUDM's SentencePiece model, <unk>/<s>/</s> are
// control ids: they decode to nothing and their literal text is ordinary text.
import type { Tokenizer } from './types.ts';
import { CHATGLM3_SPECIAL_TOKENS } from './chatglm-sentencepiece.ts';
import { SpecialTokens, checkIds } from './special-tokens.ts';

export const BYTE_TOKENIZER_CLASS = 'GlmTuneByteTokenizer';

const CONTROL_IDS = 3;
const BYTE_OFFSET = CONTROL_IDS;
const FIRST_SPECIAL_ID = BYTE_OFFSET + 256;
const VOCAB_SIZE = FIRST_SPECIAL_ID + CHATGLM3_SPECIAL_TOKENS.length; // 268

const specials = new SpecialTokens(
  Object.fromEntries(CHATGLM3_SPECIAL_TOKENS.map((token, index) => [token, FIRST_SPECIAL_ID + index])),
);
const utf8Encoder = new TextEncoder();
// Invalid UTF-8 becomes U+FFFD; decoding never throws on a byte sequence.
const utf8Decoder = new TextDecoder('utf-8');

function encodeRun(text: string): number[] {
  const bytes = utf8Encoder.encode(text);
  const ids = new Array<number>(bytes.length);
  for (let i = 0; i < bytes.length; i++) ids[i] = bytes[i] + BYTE_OFFSET;
  return ids;
}

function decodeRun(ids: number[]): string {
  const bytes: number[] = [];
  for (const id of ids) if (id >= BYTE_OFFSET) bytes.push(id - BYTE_OFFSET);
  return utf8Decoder.decode(Uint8Array.from(bytes));
}

export const byteTokenizer: Tokenizer = {
  kind: 'byte',
  vocabSize: VOCAB_SIZE,
  eosId: 2,
  padId: 0,
  specialTokens: specials.byText,
  encode(text, options) {
    return options?.specials ? specials.encode(text, encodeRun) : encodeRun(text);
  },
  decode(ids) {
    checkIds(ids, VOCAB_SIZE);
    return specials.decode(ids, decodeRun);
  },
};
