// Host-side inputs of one forward pass, computed in plain JS before any tensor work: position ids,
// which keys each query may see (as an additive mask), and the rotary cos/sin tables. Each is built
// once per forward and shared by every layer.

export type Rows = readonly (readonly number[])[];

/** Added to a score to exclude its key: exp underflows to exactly 0 in float32, and no NaN/Inf arises. */
const MASKED = -1e9;

/**
 * Position ids of the new tokens. With no explicit ids, each row counts its real tokens from the row's
 * start position (0, or where its cache left off); left padding gets position 0, as THUDM's tokenizer
 * pads `position_ids`.
 */
export function resolvePositions(tokenMask: Rows, start: readonly number[], positionIds?: Rows): number[][] {
  if (positionIds) return positionIds.map((row) => [...row]);
  return tokenMask.map((row, b) => {
    let seen = 0;
    return row.map((m) => (m ? start[b] + seen++ : 0));
  });
}

/** Where each row continues: one past the last real token's position (or its start if it has none). */
export function nextPositions(positions: Rows, tokenMask: Rows, start: readonly number[]): number[] {
  return positions.map((row, b) => row.reduce((next, p, t) => (tokenMask[b][t] ? Math.max(next, p + 1) : next), start[b]));
}

export interface AdditiveMask {
  values: Float32Array;
  /** [maskBatch (1 when every row is the same, else batch), 1, headsPerGroup · seq, keys] */
  shape: [number, number, number, number];
}

/**
 * The attention mask in the layout of grouped attention with query heads folded into rows: row
 * `j·seq + i` is query i of the j-th head of a kv group. Key j is visible to query i when the key is
 * not padding and, among the new tokens, j ≤ i (past keys — cache or prefix — are all earlier).
 * A query row that would see nothing (a padding query) sees every key instead, as in THUDM's get_masks,
 * so its output stays finite; such rows carry no meaning. Returns null when nothing is masked.
 */
export function additiveMask(pastKeyMask: Rows, tokenMask: Rows, headsPerGroup: number): AdditiveMask | null {
  const batch = tokenMask.length;
  const seq = tokenMask[0].length;
  const past = pastKeyMask[0]?.length ?? 0;
  const keys = past + seq;
  const anyPadding = tokenMask.some((r) => r.includes(0)) || pastKeyMask.some((r) => r.includes(0));
  if (!anyPadding && seq === 1) return null; // one new token, no padding: it sees every key
  const maskBatch = anyPadding ? batch : 1;
  const rows = headsPerGroup * seq;
  const values = new Float32Array(maskBatch * rows * keys);
  const visible = new Uint8Array(keys);
  for (let b = 0; b < maskBatch; b++) {
    for (let i = 0; i < seq; i++) {
      let count = 0;
      for (let j = 0; j < keys; j++) {
        const ok = j < past ? pastKeyMask[b][j] === 1 : tokenMask[b][j - past] === 1 && j - past <= i;
        visible[j] = ok ? 1 : 0;
        count += visible[j];
      }
      if (count === 0) continue; // padding query: sees all keys (row left at 0)
      for (let h = 0; h < headsPerGroup; h++) {
        const base = (b * rows + h * seq + i) * keys;
        for (let j = 0; j < keys; j++) if (!visible[j]) values[base + j] = MASKED;
      }
    }
  }
  return { values, shape: [maskBatch, 1, rows, keys] };
}

export interface RotaryTables {
  /** [batch · seq · d]: cos of each rotated pair's angle on both of its dims, 1 on pass-through dims. */
  cos: Float32Array;
  /** [batch · seq · d]: sin likewise, 0 on pass-through dims. */
  sin: Float32Array;
}

/**
 * cos/sin for ChatGLM's rotary embedding: only the first d/2 dims of a head rotate, as d/4 interleaved
 * pairs (x[2i], x[2i+1]) with θᵢ = base^(−2i/(d/2)). Angles are computed in float64 (THUDM uses
 * float32; the fixtures use float64).
 */
export function rotaryTables(positions: Rows, d: number, base: number): RotaryTables {
  const pairs = d / 4;
  const theta = Array.from({ length: pairs }, (_, i) => base ** (-(2 * i) / (d / 2)));
  const n = positions.length * positions[0].length;
  const cos = new Float32Array(n * d);
  const sin = new Float32Array(n * d);
  let row = 0;
  for (const rowPositions of positions) {
    for (const p of rowPositions) {
      const o = row++ * d;
      for (let i = 0; i < pairs; i++) {
        const c = Math.cos(p * theta[i]);
        const s = Math.sin(p * theta[i]);
        cos[o + 2 * i] = c;
        cos[o + 2 * i + 1] = c;
        sin[o + 2 * i] = s;
        sin[o + 2 * i + 1] = s;
      }
      cos.fill(1, o + d / 2, o + d);
    }
  }
  return { cos, sin };
}

/**
 * P [d, d] with x·P mapping each rotated pair (x0, x1) to (−x1, x0) and pass-through dims to 0, so that
 * rotary is `x·cos + (x·P)·sin` (one matmul and multiply-adds, no slicing: notes/tfjs-on-cpu.md).
 */
export function rotaryPairMatrix(d: number): Float32Array {
  const p = new Float32Array(d * d);
  for (let i = 0; i < d / 4; i++) {
    p[(2 * i + 1) * d + 2 * i] = -1; // out[2i]   = −x[2i+1]
    p[2 * i * d + 2 * i + 1] = 1; //    out[2i+1] =  x[2i]
  }
  return p;
}
