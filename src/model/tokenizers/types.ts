// The contract every tokenizer implementation meets (SentencePiece for ChatGLM2/3, tiktoken for GLM-4,
// tokenizer.json, the byte-level tokenizer of glm-tiny, ice_text for ChatGLM-6B v1).

export type TokenizerKind = 'chatglm-sentencepiece' | 'glm4-tiktoken' | 'hf-tokenizer-json' | 'byte' | 'chatglm6b-icetext';

export interface Tokenizer {
  readonly kind: TokenizerKind;
  /** Number of ids including special tokens (the model's embedding may be padded beyond this). */
  readonly vocabSize: number;
  readonly eosId: number;
  readonly padId: number;
  /** Literal special-token text → id, e.g. `[gMASK]` → 64790. */
  readonly specialTokens: Readonly<Record<string, number>>;
  /**
   * Plain encoding with no `[gMASK] sop` prefix. With `specials: true`, literal special-token text in
   * the input becomes its id (THUDM's encode_special_tokens / HF added-token splitting).
   */
  encode(text: string, options?: { specials?: boolean }): number[];
  /** Special ids become their literal text. */
  decode(ids: readonly number[]): string;
}
