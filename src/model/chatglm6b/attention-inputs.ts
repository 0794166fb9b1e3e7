// Host-side inputs of one ChatGLM-6B forward pass, computed in plain JS before any tensor work and shared
// by every layer: GLM's 2D position ids, the prefix-mask attention (bidirectional over the context,
// causal from `<sop>` on) as an additive mask, and the 2D rotary cos/sin tables.
import type { Rows } from '../attention-inputs.ts';
import { f16ToF32, f32ToF16 } from '../weights/dtypes.ts';
import type { ChatGlm6bConfig } from './config.ts';

/**
 * THUDM fills masked scores with −10000 (then multiplies by layer+1, which cancels its query scaling).
 * Adding it instead of replacing gives the same probabilities: next to any visible key, exp underflows
 * to exactly 0; a query that sees no key at all (a padding row) gets zero query vectors (see
 * `queryTables`), so all its scores are equal and it attends uniformly to every key, as in THUDM.
 */
const MASKED_SCORE = -10000;

/** One row of a batch in GLM's blank-infilling layout, counted among its real tokens (after left padding). */
export interface RowContext {
  /** Index of the row's first real token (the left padding before it). */
  start: number;
  /** Real tokens before `<sop>`: the context, which attends bidirectionally. */
  contextLength: number;
  /** Index of the row's [gMASK] (or [MASK] when it has no [gMASK]): the position id of every token from `<sop>` on. */
  maskPosition: number;
}

/** Token ids THUDM's get_masks / get_position_ids look for. */
export type SpecialIds = Pick<ChatGlm6bConfig, 'bosTokenId' | 'maskTokenId' | 'gmaskTokenId'>;

/**
 * Each row's context length and mask position, found in its real tokens as THUDM's code finds them in
 * an unpadded row. `tokenMask` is 1 for tokens, 0 for left padding (ChatGLM pads on the left).
 */
export function rowContexts(inputIds: Rows, tokenMask: Rows, ids: SpecialIds): RowContext[] {
  return inputIds.map((row, b) => {
    const start = tokenMask[b].indexOf(1);
    if (start < 0) throw new Error(`row ${b} has no tokens (attentionMask is all 0)`);
    if (tokenMask[b].some((m, t) => (t < start ? m !== 0 : m !== 1))) {
      throw new Error(`row ${b}: attentionMask must be 0s (left padding) then 1s: ChatGLM-6B pads on the left`);
    }
    const real = row.slice(start);
    const contextLength = real.indexOf(ids.bosTokenId);
    if (contextLength < 0) throw new Error(`row ${b} has no <sop> (bos id ${ids.bosTokenId}): ChatGLM-6B's attention mask starts generation there`);
    const maskToken = real.includes(ids.gmaskTokenId) ? ids.gmaskTokenId : ids.maskTokenId;
    const maskPosition = real.indexOf(maskToken);
    if (maskPosition < 0) throw new Error(`row ${b} has neither [gMASK] (id ${ids.gmaskTokenId}) nor [MASK] (id ${ids.maskTokenId}): ChatGLM-6B positions the answer there`);
    return { start, contextLength, maskPosition };
  });
}

/**
 * THUDM's get_position_ids for a left-padded batch, [B][2][T]: row 0 counts the context 0…ctx−1, then
 * stays at the mask position; row 1 (block positions) is 0 over the context, then 1, 2, 3…; left
 * padding gets 0 in both.
 */
export function promptPositions(contexts: readonly RowContext[], seq: number): number[][][] {
  return contexts.map(({ start, contextLength, maskPosition }) => {
    const position = new Array<number>(seq).fill(0);
    const block = new Array<number>(seq).fill(0);
    for (let t = start; t < seq; t++) {
      const u = t - start;
      position[t] = u < contextLength ? u : maskPosition;
      block[t] = u < contextLength ? 0 : u - contextLength + 1;
    }
    return [position, block];
  });
}

/**
 * THUDM's get_masks for one row of a left-padded batch: query t may attend key j when both are tokens,
 * and j ≤ t or j is in the context (before `<sop>`).
 */
export function promptSees({ start, contextLength }: RowContext, t: number, j: number): boolean {
  return t >= start && j >= start && (j <= t || j - start < contextLength);
}

export interface AdditiveMask {
  values: Float32Array;
  /** [batch, 1, seq, keys]: broadcast over the heads. */
  shape: [number, number, number, number];
}

export interface AttentionInputs {
  /** [B][2][T]: position and block position of each new token. */
  positions: number[][][];
  /** Added to the scores [B, H, T, K] (K = past keys + T); null when every query sees every key. */
  mask: AdditiveMask | null;
  /** [B·T]: 1 where the query sees at least one key, 0 where it sees none (padding rows without a prefix). */
  seesKeys: Uint8Array;
  /** [B]: each row's mask position, the position id of its tokens from `<sop>` on (kept for decoding). */
  maskPositions: number[];
}

/** The additive mask and the rows that see something, from a visibility predicate over [B, T, K]. */
function maskFrom(batch: number, seq: number, keys: number, visible: (b: number, t: number, j: number) => boolean): Pick<AttentionInputs, 'mask' | 'seesKeys'> {
  const values = new Float32Array(batch * seq * keys);
  const seesKeys = new Uint8Array(batch * seq);
  let anyMasked = false;
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < seq; t++) {
      const row = b * seq + t;
      for (let j = 0; j < keys; j++) {
        if (visible(b, t, j)) {
          seesKeys[row] = 1;
        } else {
          values[row * keys + j] = MASKED_SCORE;
          anyMasked = true;
        }
      }
    }
  }
  return { mask: anyMasked ? { values, shape: [batch, 1, seq, keys] } : null, seesKeys };
}

/**
 * A pass over whole rows (training, scoring, a prompt): positions and mask from each row's context.
 * `prefixLength` P-tuning keys come first and every query sees them, padding rows included (THUDM
 * prepends P visible columns to its mask).
 */
export function promptInputs(contexts: readonly RowContext[], seq: number, prefixLength: number): AttentionInputs {
  const { mask, seesKeys } = maskFrom(contexts.length, seq, prefixLength + seq, (b, t, j) => j < prefixLength || promptSees(contexts[b], t, j - prefixLength));
  return { positions: promptPositions(contexts, seq), mask, seesKeys, maskPositions: contexts.map((c) => c.maskPosition) };
}

/**
 * A cached pass after the prompt (decoding): every new token has position [mask position, next block
 * position + k] and sees the cached keys that are not padding, and the new tokens up to itself.
 */
export function continuationInputs(pastKeyMask: Rows, seq: number, maskPositions: readonly number[], nextBlockPositions: readonly number[]): AttentionInputs {
  const past = pastKeyMask[0].length;
  const positions = maskPositions.map((m, b) => [new Array<number>(seq).fill(m), Array.from({ length: seq }, (_, k) => nextBlockPositions[b] + k)]);
  const { mask, seesKeys } = maskFrom(maskPositions.length, seq, past + seq, (b, t, j) => (j < past ? pastKeyMask[b][j] === 1 : j - past <= t));
  return { positions, mask, seesKeys, maskPositions: [...maskPositions] };
}

/**
 * THUDM's RotaryEmbedding(d/2) frequencies, shared by both halves of a head: θ_j = 1 / 10000^(2j/n),
 * n = d/2, j < n/2, computed in float32 and rounded to float16 (`inv_freq.half()`, even when the model
 * runs in float32). Exact frequencies move the logits by up to 3e-3.
 */
export function rotaryInvFreq(headDim: number): number[] {
  const n = headDim / 2;
  const exact = Float32Array.from({ length: n / 2 }, (_, j) => 1 / Math.fround(10000 ** Math.fround((2 * j) / n)));
  return Array.from(f16ToF32(f32ToF16(exact)));
}

export interface RotaryTables {
  /** [B·T·d]: cos of each dim's angle: the first half of a head by position, the second by block position. */
  cos: Float32Array;
  /** [B·T·d]: sin likewise. */
  sin: Float32Array;
}

/**
 * cos/sin for the 2D rotary embedding of keys: each half of a head (n = d/2 dims) rotates rotate_half
 * style, dims (j, j + n/2) by angle p·θ_j, with p the position (first half) or block position (second
 * half). Angles in float64 (THUDM: float32; the fixtures: float64).
 */
export function rotaryTables(positions: readonly (readonly (readonly number[])[])[], headDim: number): RotaryTables {
  const theta = rotaryInvFreq(headDim);
  const n = headDim / 2;
  const seq = positions[0][0].length;
  const cos = new Float32Array(positions.length * seq * headDim);
  const sin = new Float32Array(positions.length * seq * headDim);
  positions.forEach((rows, b) => {
    for (let t = 0; t < seq; t++) {
      for (let half = 0; half < 2; half++) {
        const p = rows[half][t];
        const o = (b * seq + t) * headDim + half * n;
        for (let j = 0; j < n / 2; j++) {
          cos[o + j] = cos[o + j + n / 2] = Math.cos(p * theta[j]);
          sin[o + j] = sin[o + j + n / 2] = Math.sin(p * theta[j]);
        }
      }
    }
  });
  return { cos, sin };
}

/**
 * The query tables: the key tables times 1/√d (the score scale, folded in here once instead of into
 * every score), and 0 for queries that see no key (their scores all become 0, so they attend uniformly).
 */
export function queryTables(tables: RotaryTables, headDim: number, seesKeys: Uint8Array): RotaryTables {
  const scale = 1 / Math.sqrt(headDim);
  const factor = (i: number): number => (seesKeys[Math.floor(i / headDim)] ? scale : 0);
  return { cos: tables.cos.map((c, i) => c * factor(i)), sin: tables.sin.map((s, i) => s * factor(i)) };
}

/**
 * P [d, d] with x·P = rotate_half applied to each half of a head: within a half of n dims,
 * (x1 | x2) ↦ (−x2 | x1) over its quarters, so that rotary is `x·cos + (x·P)·sin` (one matmul and
 * multiply-adds, no slicing: notes/tfjs-on-cpu.md).
 */
export function rotaryHalfPairMatrix(headDim: number): Float32Array {
  const n = headDim / 2;
  const p = new Float32Array(headDim * headDim);
  for (let half = 0; half < 2; half++) {
    for (let j = 0; j < n / 2; j++) {
      const first = half * n + j;
      const second = first + n / 2;
      p[second * headDim + first] = -1; // out[first]  = −x[second]
      p[first * headDim + second] = 1; //  out[second] =  x[first]
    }
  }
  return p;
}
