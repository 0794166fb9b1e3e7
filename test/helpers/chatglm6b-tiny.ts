// The tiny ChatGLM-6B (v1) fixture model as a servable base model folder. The fixture has no tokenizer
// (its ids are synthetic, vocabulary 160), so this adds a character-level tokenizer.json whose special
// ids are the ones the fixture's config.json names ([MASK] 150, [gMASK] 151, <sop> 154, <eop> 155,
// <pad> 3): printable ASCII, newline and the characters of v1's prompt ("问", "答", "："), ids 4…
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const FIXTURE = join('test', 'fixtures', 'glm1', 'tiny-chatglm6b');

const SPECIALS: [string, number][] = [
  ['<unk>', 0],
  ['<s>', 1],
  ['</s>', 2],
  ['<pad>', 3],
  ['[MASK]', 150],
  ['[gMASK]', 151],
  ['[sMASK]', 152],
  ['<unused_0>', 153],
  ['<sop>', 154],
  ['<eop>', 155],
];

function alphabet(): string[] {
  const chars = ['\n'];
  for (let c = 0x20; c < 0x7f; c++) chars.push(String.fromCharCode(c));
  chars.push('问', '答', '：');
  if (chars.length > 146) throw new Error('alphabet does not fit ids 4…149');
  return chars;
}

/** Writes the model folder (config, weights, tokenizer) to `dir`, e.g. MODELS_DIR/tiny-chatglm6b. */
export function writeTinyChatGlm6b(dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const file of ['config.json', 'model.safetensors']) copyFileSync(join(FIXTURE, file), join(dir, file));
  const vocab: Record<string, number> = Object.fromEntries(SPECIALS);
  alphabet().forEach((char, i) => (vocab[char] = 4 + i));
  const tokenizer = {
    version: '1.0',
    added_tokens: SPECIALS.map(([content, id]) => ({ id, content, special: true, single_word: false, lstrip: false, rstrip: false, normalized: false })),
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: 'Fuse' },
    model: { type: 'BPE', vocab, merges: [], unk_token: '<unk>', dropout: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false },
  };
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'PreTrainedTokenizerFast', eos_token: '<eop>', pad_token: '<pad>', unk_token: '<unk>' }));
  return dir;
}
