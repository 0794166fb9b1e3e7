// int8 with one absmax scale per row (LLM.int8's row-wise absmax quantisation, without its outlier split):
// code = round(127 · x / absmax_row) in [-127, 127], x ≈ code · absmax_row / 127.
//
// Stored form (resident): codes plane-major in int32 words (./planes.ts), 4 per word, plus one float32
// scale (absmax / 127) per row: 8 + 32/cols bits per weight (1.004 bytes at cols = 1024).

export interface Int8Rows {
  codes: Int8Array;
  /** absmax / 127 of each row: the decoded value is code · scale. */
  scales: Float32Array;
}

/** Quantizes a row-major matrix of rows of `cols` elements. */
export function quantizeInt8Rows(values: ArrayLike<number>, cols: number): Int8Rows {
  const rows = Math.ceil(values.length / cols);
  const codes = new Int8Array(values.length);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const start = r * cols, end = Math.min(values.length, start + cols);
    let max = 0;
    for (let e = start; e < end; e++) max = Math.max(max, Math.abs(values[e]));
    scales[r] = max / 127;
    for (let e = start; e < end; e++) codes[e] = max === 0 ? 0 : Math.round((127 * values[e]) / max);
  }
  return { codes, scales };
}

/** out[e] = code e · scales[e / cols], from codes packed plane-major (packBytes); JS twin of the native kernel. */
export function decodeInt8Rows(packed: Int32Array, scales: Float32Array, out: Float32Array, cols: number): void {
  const n = out.length, words = Math.ceil(n / 4);
  for (let plane = 0; plane < 4; plane++) {
    const first = plane * words, last = Math.min(n, first + words), shift = 24 - 8 * plane;
    for (let e = first; e < last;) {
      const row = Math.floor(e / cols), runEnd = Math.min(last, (row + 1) * cols), scale = scales[row];
      // << then >> (arithmetic) sign-extends byte `plane` of the word
      for (; e < runEnd; e++) out[e] = ((packed[e - first] << shift) >> 24) * scale;
    }
  }
}
