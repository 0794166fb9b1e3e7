// GLM-4's tokenizer: a tiktoken rank file (`tokenizer.model`, lines of `base64(bytes) rank`) with
// THUDM's special tokens numbered after the ranks, as ChatGLM4Tokenizer (tokenization_chatglm.py) does.
// Byte-level BPE runs in the WASM `tiktoken` package. Its encoder holds WASM memory that is never
// freed: loadTokenizer caches one tokenizer per folder, so each file is loaded once per thread.
import { readFile } from 'node:fs/promises';
import { Tiktoken } from 'tiktoken/lite';
import type { Tokenizer } from './types.ts';
import { SpecialTokens, checkIds } from './special-tokens.ts';

/** ChatGLM4Tokenizer's special tokens in id order. */
export const GLM4_SPECIAL_TOKENS = [
  '<|endoftext|>',
  '[MASK]',
  '[gMASK]',
  '[sMASK]',
  '<sop>',
  '<eop>',
  '<|system|>',
  '<|user|>',
  '<|assistant|>',
  '<|observation|>',
  '<|begin_of_image|>',
  '<|end_of_image|>',
  '<|begin_of_video|>',
  '<|end_of_video|>',
] as const;

// ChatGLM4Tokenizer's split pattern (OpenAI's cl100k_base). tiktoken's Rust regex takes it unchanged.
const PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// Invalid UTF-8 (a token sequence cut inside a character) becomes U+FFFD, as Python's errors="replace".
const utf8 = new TextDecoder('utf-8');

/**
 * Loads the rank file at `modelPath`; special tokens take ids after the ranks unless `specialIds` gives
 * them (tokenizer_config.json's added_tokens_decoder).
 */
export async function loadGlm4Tiktoken(
  modelPath: string,
  specialIds: Readonly<Record<string, number>> = {},
): Promise<Tokenizer> {
  const ranks = await readFile(modelPath, 'utf8');
  const rankCount = countRanks(ranks);
  const encoder = new Tiktoken(ranks, {}, PATTERN);

  const byText: Record<string, number> = {};
  GLM4_SPECIAL_TOKENS.forEach((token, index) => {
    byText[token] = specialIds[token] ?? rankCount + index;
  });
  const specials = new SpecialTokens(byText);
  const vocabSize = Math.max(rankCount, ...Object.values(byText).map((id) => id + 1));
  const eosId = byText['<|endoftext|>'];

  // Ordinary text goes through tiktoken without special-token handling (THUDM's chat builder passes
  // disallowed_special=()); Hugging Face cuts the specials out first when they are recognised.
  const encodeRun = (run: string): number[] => Array.from(encoder.encode_ordinary(run));
  const decodeRun = (run: number[]): string => {
    // tiktoken's WASM traps on an id it does not know, and a trapped instance cannot be trusted again.
    for (const id of run) {
      if (id >= rankCount) throw new RangeError(`token id ${id} is neither a rank nor a special token`);
    }
    return utf8.decode(encoder.decode(Uint32Array.from(run)));
  };

  return {
    kind: 'glm4-tiktoken',
    vocabSize,
    eosId,
    padId: eosId,
    specialTokens: specials.byText,
    encode(text, options) {
      return options?.specials ? specials.encode(text, encodeRun) : encodeRun(text);
    },
    decode(ids) {
      checkIds(ids, vocabSize);
      return specials.decode(ids, decodeRun);
    },
  };
}

/** Ranks must be dense (0…n−1), as in THUDM's file; returns n. */
function countRanks(ranks: string): number {
  let count = 0;
  for (const line of ranks.split('\n')) {
    if (line.trim() === '') continue;
    const rank = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (rank !== count) throw new Error(`not a dense tiktoken rank file: line ${count + 1} has rank ${rank}`);
    count++;
  }
  if (count === 0) throw new Error('empty tiktoken rank file');
  return count;
}
