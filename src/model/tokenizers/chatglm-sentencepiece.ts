// ChatGLM2/ChatGLM3's tokenizer: a SentencePiece BPE model (`tokenizer.model`) with THUDM's special
// tokens numbered after its pieces, as THUDM's SPTokenizer (tokenization_chatglm.py) does.
import { readFile } from 'node:fs/promises';
import type { Tokenizer } from './types.ts';
import { SpecialTokens, checkIds } from './special-tokens.ts';

/** THUDM's SPTokenizer special tokens in id order; ChatGLM2 has the first five, ChatGLM3 all nine. */
export const CHATGLM2_SPECIAL_TOKENS = ['[MASK]', '[gMASK]', '[sMASK]', 'sop', 'eop'] as const;
export const CHATGLM3_SPECIAL_TOKENS = [
  ...CHATGLM2_SPECIAL_TOKENS,
  '<|system|>',
  '<|user|>',
  '<|assistant|>',
  '<|observation|>',
] as const;

// Pieces 0–2 of THUDM's model: <unk> (also the pad id), <s> (never used), </s> (eos).
const UNK_ID = 0;
const EOS_ID = 2;

/**
 * Loads `modelPath` and numbers `specialTokens` from the model's piece count on, unless `specialIds`
 * gives their ids (tokenizer_config.json's added_tokens_decoder, where a repo has one).
 */
export async function loadChatGlmSentencePiece(
  modelPath: string,
  specialTokens: readonly string[],
  specialIds: Readonly<Record<string, number>> = {},
): Promise<Tokenizer> {
  const model = await readFile(modelPath);
  const pieceCount = countSentencePieces(model);
  // The package is 4 MB of JavaScript with its WebAssembly inlined: load it only when a folder needs it.
  const { SentencePieceProcessor } = await import('@sctg/sentencepiece-js');
  const processor = new SentencePieceProcessor();
  await processor.load(modelPath);

  const byText: Record<string, number> = {};
  specialTokens.forEach((token, index) => {
    byText[token] = specialIds[token] ?? pieceCount + index;
  });
  const specials = new SpecialTokens(byText);
  const vocabSize = Math.max(pieceCount, ...Object.values(byText).map((id) => id + 1));

  const decodeRun = (run: number[]): string => {
    for (const id of run) {
      if (id >= pieceCount) throw new RangeError(`token id ${id} is neither a piece nor a special token`);
    }
    return processor.decodeIds(Int32Array.from(run)) as string;
  };

  return {
    kind: 'chatglm-sentencepiece',
    vocabSize,
    eosId: EOS_ID,
    padId: UNK_ID,
    specialTokens: specials.byText,
    encode(text, options) {
      if (options?.specials) return specials.encode(text, (run) => processor.encodeIds(run));
      return processor.encodeIds(text);
    },
    decode(ids) {
      checkIds(ids, vocabSize);
      return specials.decode(ids, decodeRun);
    },
  };
}

/**
 * Counts the pieces of a SentencePiece ModelProto (field 1, `repeated SentencePiece pieces`) by walking
 * the protobuf's top-level fields; the package has no GetPieceSize. Throws if the bytes are not a
 * protobuf message.
 */
export function countSentencePieces(model: Uint8Array): number {
  let offset = 0;
  let pieces = 0;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (offset >= model.length) throw new Error('truncated protobuf varint');
      const byte = model[offset++];
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
  };
  while (offset < model.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (wireType === 0) varint();
    else if (wireType === 1) offset += 8;
    else if (wireType === 2) {
      const length = varint();
      offset += length;
      if (field === 1) pieces++;
    } else if (wireType === 5) offset += 4;
    else throw new Error(`not a SentencePiece model: protobuf wire type ${wireType} at byte ${offset}`);
    if (offset > model.length) throw new Error('not a SentencePiece model: truncated protobuf field');
  }
  if (pieces === 0) throw new Error('not a SentencePiece model: no pieces');
  return pieces;
}
