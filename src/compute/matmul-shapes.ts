// Shapes of a batched matrix product: sizes, numpy-style broadcast batch dims, the output shape.

export interface MatMulPlan {
  m: number;
  n: number;
  k: number;
  /** Batch dims of a and b, left-padded with 1s to the same rank; each equals the output's or is 1. */
  batchA: number[];
  batchB: number[];
  batchOut: number[];
  /** [...batchOut, m, n] (for _FusedMatMul: rank 3, the batch dims folded) */
  outShape: number[];
}

export function shapeSize(dims: readonly number[]): number {
  return dims.reduce((p, q) => p * q, 1);
}

function plan(aShape: readonly number[], bShape: readonly number[], transposeA: boolean, transposeB: boolean,
  batchA: number[], batchB: number[]): MatMulPlan {
  const ra = aShape.length, rb = bShape.length;
  const m = transposeA ? aShape[ra - 1] : aShape[ra - 2];
  const kA = transposeA ? aShape[ra - 2] : aShape[ra - 1];
  const kB = transposeB ? bShape[rb - 1] : bShape[rb - 2];
  const n = transposeB ? bShape[rb - 2] : bShape[rb - 1];
  if (kA !== kB) {
    throw new Error(`matMul: inner sizes ${kA} and ${kB} of shapes [${aShape}] and [${bShape}] ` +
      `(transposeA=${transposeA}, transposeB=${transposeB}) differ`);
  }
  const batchOut = batchA.map((d, i) => {
    const e = batchB[i];
    if (d !== e && d !== 1 && e !== 1) {
      throw new Error(`matMul: batch dims of shapes [${aShape}] and [${bShape}] do not broadcast`);
    }
    return d === 1 ? e : d;
  });
  return { m, n, k: kA, batchA, batchB, batchOut, outShape: [...batchOut, m, n] };
}

/** The BatchMatMul kernel's plan: a and b of rank >= 2, batch dims aligned from the right (numpy). */
export function planMatMul(aShape: readonly number[], bShape: readonly number[], transposeA: boolean,
  transposeB: boolean): MatMulPlan {
  if (aShape.length < 2 || bShape.length < 2) throw new Error('matMul: inputs must have rank >= 2');
  const ba = aShape.slice(0, -2), bb = bShape.slice(0, -2);
  const rank = Math.max(ba.length, bb.length);
  const pad = (d: number[]): number[] => [...new Array<number>(rank - d.length).fill(1), ...d];
  return plan(aShape, bShape, transposeA, transposeB, pad(ba), pad(bb));
}

/**
 * The _FusedMatMul kernel's plan. tf.fused.matMul hands the kernel rank-3 inputs, having folded all batch
 * dims into one, so a broadcast over leading dims ([2,3,..] with [3,..]) arrives as batches 6 and 3. Read that
 * as [2,3] with [1,3], which is what it was (and what TF.js's own kernels compute, by index modulo).
 */
export function planFusedMatMul(aShape: readonly number[], bShape: readonly number[], transposeA: boolean,
  transposeB: boolean): MatMulPlan {
  if (aShape.length !== 3 || bShape.length !== 3) throw new Error('_FusedMatMul: inputs must have rank 3');
  const ca = aShape[0], cb = bShape[0];
  if (ca === cb || ca === 1 || cb === 1) return plan(aShape, bShape, transposeA, transposeB, [ca], [cb]);
  const [big, small] = ca > cb ? [ca, cb] : [cb, ca];
  if (big % small !== 0) throw new Error(`_FusedMatMul: batch sizes ${ca} and ${cb} do not broadcast`);
  const whole = [big / small, small], part = [1, small];
  const p = plan(aShape, bShape, transposeA, transposeB, ca > cb ? whole : part, ca > cb ? part : whole);
  return { ...p, outShape: [big, p.m, p.n] }; // the kernel's output stays rank 3
}
