// Test helpers that build Hugging Face tokenizer.json files (byte-level BPE, the common case).
import { readFileSync } from 'node:fs';

// GPT-2's reversible byte → printable character map used by byte-level BPE vocabularies.
function bytesToUnicode(): string[] {
  const printable = new Set<number>();
  for (let b = 0x21; b <= 0x7e; b++) printable.add(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.add(b);
  for (let b = 0xae; b <= 0xff; b++) printable.add(b);
  const map: string[] = [];
  let next = 0;
  for (let b = 0; b < 256; b++) map[b] = String.fromCodePoint(printable.has(b) ? b : 256 + next++);
  return map;
}

/**
 * Rewrites a tiktoken rank file as a tokenizer.json, the way transformers' TikTokenConverter does for
 * GLM-4's "-hf" releases. The merges are recovered from the ranks: every split of a token into two
 * tokens is a merge, ordered by the rank of the merged token.
 */
export function tiktokenToTokenizerJson(
  rankFile: string,
  pattern: string,
  specialTokens: readonly string[],
): { tokenizerJson: object; rankCount: number } {
  const byteChar = bytesToUnicode();
  const tokens: Buffer[] = [];
  for (const line of readFileSync(rankFile, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const [b64, rank] = line.split(' ');
    tokens[Number(rank)] = Buffer.from(b64, 'base64');
  }
  const vocab: Record<string, number> = {};
  const strings = tokens.map((bytes) => Array.from(bytes, (b) => byteChar[b]).join(''));
  strings.forEach((s, rank) => (vocab[s] = rank));

  const merges: string[] = [];
  tokens.forEach((bytes, rank) => {
    const found: Array<[number, number, string]> = [];
    for (let cut = 1; cut < bytes.length; cut++) {
      const left = strings[rank].slice(0, cut);
      const right = strings[rank].slice(cut);
      if (left in vocab && right in vocab) found.push([vocab[left], vocab[right], `${left} ${right}`]);
    }
    found.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    for (const [, , merge] of found) merges.push(merge);
  });

  const tokenizerJson = {
    version: '1.0',
    added_tokens: specialTokens.map((content, index) => addedToken(tokens.length + index, content, true)),
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      // tiktoken takes a whole piece that is itself a token before merging anything.
      ignore_merges: true,
      vocab,
      merges,
    },
  };
  return { tokenizerJson, rankCount: tokens.length };
}

export interface AddedTokenSpec {
  content: string;
  special: boolean;
}

/**
 * A small GPT-2-style tokenizer.json: the 256 byte symbols (ids 0–255), then one vocabulary entry per
 * merge in `merges` (ids 256…, in merge order), then `added` tokens.
 */
export function smallByteLevelTokenizerJson(merges: readonly string[], added: readonly AddedTokenSpec[]) {
  const vocab: Record<string, number> = {};
  bytesToUnicode().forEach((symbol, byte) => (vocab[symbol] = byte));
  merges.forEach((merge, index) => (vocab[merge.replace(' ', '')] = 256 + index));
  const firstAdded = 256 + merges.length;
  return {
    version: '1.0',
    added_tokens: added.map((token, index) => addedToken(firstAdded + index, token.content, token.special)),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

/** The vocabulary symbol of each byte of `text`'s UTF-8 (what the byte-level pre-tokenizer produces). */
export function byteSymbols(text: string): string {
  const map = bytesToUnicode();
  return Array.from(Buffer.from(text, 'utf8'), (b) => map[b]).join('');
}

function addedToken(id: number, content: string, special: boolean) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special };
}
