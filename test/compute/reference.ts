// Plain float64 references for the compute tests: numpy-style broadcasting made explicit, one loop per
// element, nothing shared with the kernels under test.

/** Deterministic N(0,1)-ish values (mulberry32 + Box–Muller), rounded to float32. */
export function randomValues(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const uniform = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()));
}

const size = (shape: readonly number[]): number => shape.reduce((p, q) => p * q, 1);

/** Numpy broadcast of two shapes (right-aligned). */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  return Array.from({ length: r }, (_, i) => {
    const x = a[a.length - r + i] ?? 1, y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`[${a}] and [${b}] do not broadcast`);
    return Math.max(x, y);
  });
}

/** The element of `values` (of `shape`) that numpy broadcasting reads at multi-index `idx` of a larger shape. */
function broadcastRead(values: ArrayLike<number>, shape: readonly number[], idx: readonly number[]): number {
  let offset = 0;
  for (let d = 0; d < shape.length; d++) {
    const i = idx[idx.length - shape.length + d];
    offset = offset * shape[d] + (shape[d] === 1 ? 0 : i);
  }
  return values[offset];
}

function multiIndex(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = flat % shape[d];
    flat = Math.floor(flat / shape[d]);
  }
  return idx;
}

/** Swaps the last two dims of a row-major array. */
export function transposeLast2(values: ArrayLike<number>, shape: readonly number[]): { values: Float32Array; shape: number[] } {
  const r = shape.length, rows = shape[r - 2], cols = shape[r - 1];
  const out = new Float32Array(values.length);
  for (let base = 0; base < values.length; base += rows * cols) {
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[base + j * rows + i] = values[base + i * cols + j];
  }
  return { values: out, shape: [...shape.slice(0, -2), cols, rows] };
}

/** a [...batchA, M, K] · b [...batchB, K, N] with the batch dims broadcast, in float64. */
export function referenceMatMul(a: ArrayLike<number>, aShape: readonly number[], b: ArrayLike<number>,
  bShape: readonly number[]): { values: Float64Array; shape: number[] } {
  const [m, k] = aShape.slice(-2), n = bShape[bShape.length - 1];
  const batch = broadcastShape(aShape.slice(0, -2), bShape.slice(0, -2));
  const shape = [...batch, m, n];
  const values = new Float64Array(size(shape));
  for (let o = 0; o < values.length; o++) {
    const idx = multiIndex(o, shape);
    const [i, j] = idx.slice(-2), bIdx = idx.slice(0, -2);
    let sum = 0;
    for (let l = 0; l < k; l++) {
      sum += broadcastRead(a, aShape, [...bIdx, i, l]) * broadcastRead(b, bShape, [...bIdx, l, j]);
    }
    values[o] = sum;
  }
  return { values, shape };
}

/** out[i] = f(x[i], operand broadcast to x's shape). */
export function referenceBroadcast(x: ArrayLike<number>, shape: readonly number[], operand: ArrayLike<number>,
  operandShape: readonly number[], f: (x: number, y: number) => number): Float64Array {
  return Float64Array.from({ length: x.length }, (_, o) => f(x[o], broadcastRead(operand, operandShape, multiIndex(o, shape))));
}

export function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`lengths differ: ${actual.length} vs ${expected.length}`);
  let max = 0;
  for (let i = 0; i < actual.length; i++) max = Math.max(max, Math.abs(actual[i] - expected[i]));
  return Number.isNaN(max) ? Infinity : max;
}
