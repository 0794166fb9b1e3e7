// Special tokens around an ordinary tokenizer, the way THUDM's tokenizers treat them.
// Encoding with specials cuts every literal special token out of the text and encodes each run
// between them on its own (THUDM's encode_special_tokens, Hugging Face's added-token splitting);
// decoding writes a special id as its literal text and decodes each run of ordinary ids between
// special ids on its own (THUDM's SPTokenizer.decode and ChatGLM4Tokenizer.convert_tokens_to_string).

export class SpecialTokens {
  readonly byText: Readonly<Record<string, number>>;
  private readonly textById = new Map<number, string>();
  private readonly pattern: RegExp | null;

  constructor(byText: Readonly<Record<string, number>>) {
    this.byText = Object.freeze({ ...byText });
    for (const [text, id] of Object.entries(byText)) this.textById.set(id, text);
    // Longest first, so that where two specials start at the same place the longer one wins
    // (Hugging Face matches added tokens leftmost-longest).
    const literals = Object.keys(byText).sort((a, b) => b.length - a.length);
    this.pattern = literals.length === 0 ? null : new RegExp(literals.map(escapeRegExp).join('|'), 'g');
  }

  /** `text` with every literal special token as its id and the runs between them through `encodeRun`. */
  encode(text: string, encodeRun: (run: string) => number[]): number[] {
    if (this.pattern === null) return encodeRun(text);
    const ids: number[] = [];
    let last = 0;
    for (const match of text.matchAll(this.pattern)) {
      if (match.index > last) pushAll(ids, encodeRun(text.slice(last, match.index)));
      ids.push(this.byText[match[0]]);
      last = match.index + match[0].length;
    }
    if (last < text.length) pushAll(ids, encodeRun(text.slice(last)));
    return ids;
  }

  /** Special ids as their literal text; each run of other ids between them through `decodeRun`. */
  decode(ids: readonly number[], decodeRun: (run: number[]) => string): string {
    let text = '';
    let run: number[] = [];
    for (const id of ids) {
      const special = this.textById.get(id);
      if (special === undefined) {
        run.push(id);
        continue;
      }
      if (run.length > 0) {
        text += decodeRun(run);
        run = [];
      }
      text += special;
    }
    if (run.length > 0) text += decodeRun(run);
    return text;
  }
}

/** Throws a RangeError naming the first id that is not an integer in [0, vocabSize). */
export function checkIds(ids: readonly number[], vocabSize: number): void {
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new RangeError(`token id ${id} is outside the vocabulary (0…${vocabSize - 1})`);
    }
  }
}

function escapeRegExp(literal: string): string {
  return literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// push(...ids) overflows the call stack for very long runs.
function pushAll(target: number[], ids: readonly number[]): void {
  for (const id of ids) target.push(id);
}
