// The npm-only matmul for the `wasm` backend. Its stock BatchMatMul (XNNPACK) multiplies one untransposed
// matrix pair at ~45 GFLOPS, but transposed operands at 2–4 GFLOPS and batched ones at ~3 GFLOPS whatever
// the transposes (bench/matmul.ts), and the backward pass and attention are made of those. So this kernel
// only ever asks it for untransposed 2-D products: it transposes an operand into a new buffer first (a cheap
// copy), folds the batches of `a` into rows when one `b` serves them all, and otherwise calls it once per
// batch on copied-out matrices. Indexing the batches itself also gets numpy broadcasting right, which the
// stock kernel does not ([2,3] against [2,1], or two-sided, come out wrong), and leaves bias and activation
// of _FusedMatMul to fused-epilogue.ts, as the stock _FusedMatMul adds the bias to the first batch only.
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { activate, addBias, type FusedActivation } from './fused-epilogue.ts';
import { kernelMemory } from './kernel-memory.ts';
import { planFusedMatMul, planMatMul, shapeSize, type MatMulPlan } from './matmul-shapes.ts';
import { replaceKernel, stockKernel } from './registry.ts';

interface WasmBackend {
  disposeData(dataId: object): boolean;
}

/** Runs a stock wasm kernel directly (not through the engine, so nothing is recorded on the tape). */
function run(kernelName: string, inputs: Record<string, TensorInfo>, backend: unknown, attrs: object): TensorInfo {
  return stockKernel(kernelName, 'wasm').kernelFunc({ inputs, backend: backend as never, attrs: attrs as never }) as TensorInfo;
}

/** For each output batch (row-major over batchOut), the index of the matrix that a side with `batch` dims supplies. */
function batchIndices(batch: number[], batchOut: number[]): number[] {
  const indices: number[] = [];
  const idx = batchOut.map(() => 0);
  for (let t = 0; t < shapeSize(batchOut); t++) {
    indices.push(idx.reduce((offset, i, d) => offset * batch[d] + (batch[d] === 1 ? 0 : i), 0));
    for (let d = idx.length - 1; d >= 0 && ++idx[d] === batchOut[d]; d--) idx[d] = 0;
  }
  return indices;
}

/**
 * c [...batchOut, m, n] = a · b for untransposed a [...batchA, m, k], b [...batchB, k, n] (batch dims padded as
 * in `p`), through the stock kernel's 2-D path only. Temporaries are disposed; returns the output tensor.
 */
function multiply(a: TensorInfo, b: TensorInfo, p: MatMulPlan, backend: unknown, stock: KernelConfig): TensorInfo {
  const memory = kernelMemory('wasm', backend);
  const dispose = (t: TensorInfo): boolean => (backend as WasmBackend).disposeData(t.dataId);
  const product = (x: TensorInfo, y: TensorInfo): TensorInfo =>
    stock.kernelFunc({ inputs: { a: x, b: y }, backend: backend as never, attrs: { transposeA: false, transposeB: false } as never }) as TensorInfo;
  const countA = shapeSize(p.batchA), countB = shapeSize(p.batchB);
  if (p.k === 0 || shapeSize(p.outShape) === 0) {
    const out = memory.allocate(p.outShape, 'float32');
    memory.view(out).fill(0); // an empty sum; the stock kernel leaves such an output uninitialised
    return out;
  }
  if (countB === 1) {
    // One b for every batch (a Linear layer, or no batch at all): the batches of a are rows of one product.
    const a2 = run('Reshape', { x: a }, backend, { shape: [countA * p.m, p.k] });
    const b2 = run('Reshape', { x: b }, backend, { shape: [p.k, p.n] });
    const c = product(a2, b2);
    const out = run('Reshape', { x: c }, backend, { shape: p.outShape });
    [a2, b2, c].forEach(dispose);
    return out;
  }
  const matrix = (x: TensorInfo, index: number, rows: number, cols: number): TensorInfo => {
    const y = memory.allocate([rows, cols], 'float32'); // allocate first: it may move the heap under older views
    memory.view(y).set(memory.view(x).subarray(index * rows * cols, (index + 1) * rows * cols));
    return y;
  };
  const out = memory.allocate(p.outShape, 'float32');
  const aIndex = batchIndices(p.batchA, p.batchOut), bIndex = batchIndices(p.batchB, p.batchOut);
  aIndex.forEach((ai, t) => {
    const a2 = matrix(a, ai, p.m, p.k), b2 = matrix(b, bIndex[t], p.k, p.n);
    const c = product(a2, b2);
    memory.view(out).set(memory.view(c), t * p.m * p.n);
    [a2, b2, c].forEach(dispose);
  });
  return out;
}

/** `x` with its last two dims swapped into a new buffer, recorded in `temps`; `x` itself when not transposed. */
function untransposed(x: TensorInfo, transpose: boolean, backend: unknown, temps: TensorInfo[]): TensorInfo {
  if (!transpose) return x;
  const r = x.shape.length;
  const t = run('Transpose', { x }, backend, { perm: [...Array(r - 2).keys(), r - 1, r - 2] });
  temps.push(t);
  return t;
}

/**
 * x·Wᵀ for a shared W [n, k] and fewer rows of x than n (decoding: one row per step) as (W·xᵀ)ᵀ, so that
 * only the small x and the small result are transposed, never W.
 */
function multiplyFewRowsByTransposed(a: TensorInfo, b: TensorInfo, p: MatMulPlan, backend: unknown, stock: KernelConfig): TensorInfo {
  const rows = shapeSize(p.batchA) * p.m;
  const x = run('Reshape', { x: a }, backend, { shape: [rows, p.k] });
  const xT = run('Transpose', { x }, backend, { perm: [1, 0] });
  const w = run('Reshape', { x: b }, backend, { shape: [p.n, p.k] });
  const cT = stock.kernelFunc({ inputs: { a: w, b: xT }, backend: backend as never, attrs: { transposeA: false, transposeB: false } as never }) as TensorInfo;
  const c = run('Transpose', { x: cT }, backend, { perm: [1, 0] });
  const out = run('Reshape', { x: c }, backend, { shape: p.outShape });
  for (const t of [x, xT, w, cT, c]) (backend as WasmBackend).disposeData(t.dataId);
  return out;
}

/** The product for both kernels, a and b as stored (transposed or not), through the stock 2-D path. */
function product(a: TensorInfo, b: TensorInfo, p: MatMulPlan, transposeA: boolean, transposeB: boolean, backend: unknown,
  stock: KernelConfig): TensorInfo {
  if (transposeB && !transposeA && shapeSize(p.batchB) === 1 && shapeSize(p.batchA) * p.m < p.n && p.m > 0 && p.k > 0) {
    return multiplyFewRowsByTransposed(a, b, p, backend, stock);
  }
  const temps: TensorInfo[] = [];
  const out = multiply(untransposed(a, transposeA, backend, temps), untransposed(b, transposeB, backend, temps), p, backend, stock);
  for (const t of temps) (backend as WasmBackend).disposeData(t.dataId);
  return out;
}

const batchMatMul = (stock: KernelConfig): KernelFunc => (args) => {
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  const p = planMatMul(a.shape, b.shape, !!transposeA, !!transposeB);
  return product(a, b, p, !!transposeA, !!transposeB, args.backend, stock);
};

const fusedMatMul = (stockBatchMatMul: KernelConfig): KernelFunc => (args) => {
  const { a, b, bias, preluActivationWeights: prelu } = args.inputs as Record<string, TensorInfo | undefined> as {
    a: TensorInfo; b: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo;
  };
  const attrs = args.attrs as { transposeA: boolean; transposeB: boolean; activation?: FusedActivation; leakyreluAlpha?: number };
  const p = planFusedMatMul(a.shape, b.shape, !!attrs.transposeA, !!attrs.transposeB);
  const out = product(a, b, p, !!attrs.transposeA, !!attrs.transposeB, args.backend, stockBatchMatMul);
  const memory = kernelMemory('wasm', args.backend);
  const c = memory.view(out) as Float32Array;
  if (bias) addBias(c, p.outShape, memory.view(bias) as Float32Array, bias.shape);
  activate(c, p.outShape, attrs.activation ?? 'linear', attrs.leakyreluAlpha ?? 0.2,
    prelu && { values: memory.view(prelu) as Float32Array, shape: prelu.shape });
  return out;
};

/** Replaces the wasm backend's BatchMatMul and _FusedMatMul with the wrappers (the pure-npm fast path). */
export function registerTransposingMatMul(): void {
  const stock = stockKernel('BatchMatMul', 'wasm');
  replaceKernel({ ...stock, kernelFunc: batchMatMul(stock) });
  // Keep the stock _FusedMatMul's setupFunc; its kernelFunc is not used any more.
  replaceKernel({ ...stockKernel('_FusedMatMul', 'wasm'), kernelFunc: fusedMatMul(stock) });
}
