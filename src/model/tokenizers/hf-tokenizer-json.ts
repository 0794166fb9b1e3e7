// A Hugging Face fast-tokenizer file (`tokenizer.json`), run by @huggingface/tokenizers (pure
// JavaScript, from the Hugging Face team: BPE, WordPiece, Unigram; byte-level, Metaspace, Split and the
// other common normalizers, pre-tokenizers and decoders; Oniguruma patterns translated to JS).
//
// Special added tokens (`"special": true`) are kept out of the library so that plain encoding treats
// their literal text as ordinary text, like our other tokenizers (Rust tokenizers' encode_special_tokens);
// with `specials: true` they are cut out by SpecialTokens and each run between them is encoded on its
// own. Their lstrip/rstrip/single_word flags are not applied. Non-special added tokens stay in the
// library, which always matches them, as Hugging Face does. The post-processor (BOS/EOS templates) is
// never applied: prompts are built by the chat templates.
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import type { Tokenizer } from './types.ts';
import { SpecialTokens, checkIds } from './special-tokens.ts';

interface AddedTokenJson {
  id: number;
  content: string;
  special?: boolean;
}

/** The tokenizer_config.json fields read here (a token may be a string or an AddedToken object). */
export interface HfTokenizerConfig {
  eos_token?: string | { content: string } | null;
  pad_token?: string | { content: string } | null;
  clean_up_tokenization_spaces?: boolean;
  [key: string]: unknown;
}

/** Throws if the file has no model, or the config names no eos token the vocabulary has. */
export function createHfTokenizer(tokenizerJson: Record<string, unknown>, config: HfTokenizerConfig): Tokenizer {
  if (typeof tokenizerJson.model !== 'object' || tokenizerJson.model === null) {
    throw new Error('tokenizer.json has no "model"');
  }
  const added = (tokenizerJson.added_tokens ?? []) as AddedTokenJson[];
  const specials = new SpecialTokens(
    Object.fromEntries(added.filter((token) => token.special).map((token) => [token.content, token.id])),
  );
  const library = new HfTokenizer(
    { ...tokenizerJson, added_tokens: added.filter((token) => !token.special) },
    config,
  );

  const idOf = (token: HfTokenizerConfig['eos_token']): number | undefined => {
    if (token === undefined || token === null) return undefined;
    const text = typeof token === 'string' ? token : token.content;
    return specials.byText[text] ?? library.token_to_id(text);
  };
  const eosId = idOf(config.eos_token);
  if (eosId === undefined) {
    throw new Error(`tokenizer_config.json has no eos_token in the vocabulary (eos_token: ${JSON.stringify(config.eos_token)})`);
  }
  const padId = idOf(config.pad_token) ?? eosId;

  let vocabSize = 0;
  for (const id of library.get_vocab(true).values()) vocabSize = Math.max(vocabSize, id + 1);
  for (const id of Object.values(specials.byText)) vocabSize = Math.max(vocabSize, id + 1);

  // Hugging Face's default is no clean-up (it would turn " ." into "." and break round trips).
  const decodeOptions = { skip_special_tokens: false, clean_up_tokenization_spaces: config.clean_up_tokenization_spaces ?? false };
  const encodeRun = (run: string): number[] => library.encode(run, { add_special_tokens: false }).ids;
  const decodeRun = (run: number[]): string => {
    for (const id of run) {
      if (library.id_to_token(id) === undefined) throw new RangeError(`token id ${id} is not in tokenizer.json`);
    }
    return library.decode(run, decodeOptions);
  };

  return {
    kind: 'hf-tokenizer-json',
    vocabSize,
    eosId,
    padId,
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
