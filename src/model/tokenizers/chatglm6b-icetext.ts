// ChatGLM-6B (v1)'s tokenizer: THUDM's `ice_text.model`, a SentencePiece UNIGRAM model (NFKC
// normaliser, extra whitespace removed, digits split, byte fallback) behind the whitespace rules of
// THUDM's SPTokenizer (tokenization_chatglm.py of THUDM/chatglm-6b):
//   encode  "\n" → <n>, "\t" → <|tab|>, then each run of N spaces → <|blank_N|> (N = 80 down to 2, as
//           Python's str.replace does it, longest first); SentencePiece; every id + num_image_tokens
//   decode  drop ids below num_image_tokens (image tokens); SentencePiece decode (control pieces such
//           as [gMASK] and <sop> decode to nothing); <n>, <|tab|>, <|blank_N|> back to whitespace
// Every special token is a piece of the model (ids 130000… in THUDM's file), so ids are looked up by
// piece text, never assumed. Unlike ChatGLM2/3, special ids decode to nothing rather than their text.
//
// `encode(text, { specials: true })` is Hugging Face's ChatGLMTokenizer path (what `tokenizer(text)`,
// chat() and ptuning/main.py use): the transformers special tokens bos <sop>, eos <eop>, [MASK], <pad>
// and <unk> are cut out of the text (not [gMASK], which transformers does not know as special), and the
// text on either side loses its whitespace next to them, as transformers 4.27 strips it by default.
import { readFile } from 'node:fs/promises';
import type { Tokenizer } from './types.ts';
import { checkIds } from './special-tokens.ts';
import { readSentencePieces } from './sentencepiece-pieces.ts';
import { pythonLstrip, pythonRstrip } from './python-whitespace.ts';

/**
 * ChatGLMTokenizer's default num_image_tokens (the 150,528-id release of March 2023). THUDM/chatglm-6b's
 * tokenizer_config.json sets 0 since its 2023-04-06 checkpoint.
 */
export const DEFAULT_NUM_IMAGE_TOKENS = 20000;

const MAX_BLANK_LENGTH = 80;
const TAB = '<|tab|>';
const blank = (n: number) => `<|blank_${n}|>`;

/** Pieces THUDM's code names as special tokens; their ids come from the model file. */
const SPECIAL_PIECES = ['[MASK]', '[gMASK]', '[sMASK]', '<unused_0>', '<sop>', '<eop>', '<ENC>', '<dBLOCK>', '<pad>', '<unk>', '</s>'];
/** transformers' special tokens of ChatGLMTokenizer (bos, eos, mask, pad, unk): cut out of text by the HF layer. */
const HF_SPECIAL_TOKENS = ['<sop>', '<eop>', '[MASK]', '<pad>', '<unk>'];
const HF_SPECIAL_PATTERN = new RegExp(HF_SPECIAL_TOKENS.map((t) => t.replace(/[[\]]/g, '\\$&')).join('|'), 'g');

/** The tokenizer_config.json keys ChatGLMTokenizer reads besides the special-token names. */
export interface IceTextConfig {
  num_image_tokens?: unknown;
  remove_space?: unknown;
  do_lower_case?: unknown;
}

/** Loads `ice_text.model` with the settings of the folder's tokenizer_config.json. */
export async function loadChatGlm6bIceText(modelPath: string, config: IceTextConfig = {}): Promise<Tokenizer> {
  const offset = config.num_image_tokens ?? DEFAULT_NUM_IMAGE_TOKENS;
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) {
    throw new Error(`tokenizer_config.json num_image_tokens must be a non-negative integer, not ${JSON.stringify(offset)}`);
  }
  // THUDM's config sets both false; true would change the text before SentencePiece in ways not reproduced here.
  for (const key of ['remove_space', 'do_lower_case'] as const) {
    if (config[key] !== undefined && config[key] !== false) throw new Error(`tokenizer_config.json ${key}: ${JSON.stringify(config[key])} is not supported (THUDM's is false)`);
  }

  const pieces = readSentencePieces(await readFile(modelPath));
  const pieceIds = new Map(pieces.map((piece, id) => [piece, id]));
  const specialTokens: Record<string, number> = {};
  for (const piece of SPECIAL_PIECES) {
    const id = pieceIds.get(piece);
    if (id === undefined) throw new Error(`${modelPath} has no ${piece} piece: not ChatGLM-6B's ice_text.model`);
    specialTokens[piece] = id + offset;
  }
  // The package is 4 MB of JavaScript with its WebAssembly inlined: load it only when a folder needs it.
  const { SentencePieceProcessor } = await import('@sctg/sentencepiece-js');
  const processor = new SentencePieceProcessor();
  await processor.load(modelPath);

  const vocabSize = offset + pieces.length;
  const encodePlain = (text: string): number[] => processor.encodeIds(encodeWhitespace(text)).map((id) => id + offset);

  return {
    kind: 'chatglm6b-icetext',
    vocabSize,
    eosId: specialTokens['<eop>'],
    padId: specialTokens['<pad>'],
    specialTokens: Object.freeze(specialTokens),
    encode(text, options) {
      if (!options?.specials) return encodePlain(text);
      return encodeWithHfSpecials(text, specialTokens, encodePlain);
    },
    decode(ids) {
      checkIds(ids, vocabSize);
      const run = ids.filter((id) => id >= offset).map((id) => id - offset);
      return decodeWhitespace(processor.decodeIds(Int32Array.from(run)) as string);
    },
  };
}

/** SPTokenizer._preprocess: newlines, tabs and runs of spaces become the model's whitespace pieces. */
function encodeWhitespace(text: string): string {
  let out = text.replaceAll('\n', '<n>').replaceAll('\t', TAB);
  for (let n = MAX_BLANK_LENGTH; n >= 2; n--) out = out.replaceAll(' '.repeat(n), blank(n));
  return out;
}

/** SPTokenizer.postprocess. */
function decodeWhitespace(text: string): string {
  let out = text.replaceAll('<n>', '\n').replaceAll(TAB, '\t');
  for (let n = 2; n <= MAX_BLANK_LENGTH; n++) out = out.replaceAll(blank(n), ' '.repeat(n));
  return out;
}

/**
 * transformers 4.27 PreTrainedTokenizer.tokenize: split on the special tokens, strip the whitespace
 * that touches each of them (rstrip on the left, lstrip on the right), drop empty pieces.
 */
function encodeWithHfSpecials(text: string, ids: Readonly<Record<string, number>>, encodePlain: (text: string) => number[]): number[] {
  const parts: string[] = [];
  let last = 0;
  for (const match of text.matchAll(HF_SPECIAL_PATTERN)) {
    parts.push(text.slice(last, match.index), match[0]);
    last = match.index + match[0].length;
  }
  parts.push(text.slice(last));
  // parts alternate text, special, text, …; every text part but the first follows a special, every
  // one but the last precedes one.
  const out: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    if (i % 2 === 1) {
      out.push(ids[parts[i]]);
      continue;
    }
    let part = parts[i];
    if (i > 0) part = pythonLstrip(part);
    if (i < parts.length - 1) part = pythonRstrip(part);
    if (part !== '') for (const id of encodePlain(part)) out.push(id);
  }
  return out;
}

/**
 * transformers' clean_up_tokenization, which ChatGLMTokenizer.decode applies by default (transformers
 * 4.27, as THUDM pins it): THUDM's chat() reply is this applied to the decoded text, then
 * process_response.
 */
export function cleanUpTokenization(text: string): string {
  return text
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}
