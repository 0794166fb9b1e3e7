// The npm-only matmul for the `wasm` backend: XNNPACK multiplies untransposed operands at ~30 GFLOPS but
// transposed or batched-and-transposed ones at 1–3 GFLOPS (../shared/notes/tfjs-on-cpu.md), and the
// backward pass is made of those. So transpose the operand into a new buffer first (a cheap copy) and call
// the stock kernel untransposed. It also broadcasts batch dims the stock kernel would get wrong: that kernel
// indexes a side's batches modulo their count, which is right only when the side's batch dims are 1s followed
// by the output's own trailing batch dims ([3] or [1,3] against [2,3], not [2,1]); other sides are tiled out.
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { activate, addBias, type FusedActivation } from './fused-epilogue.ts';
import { kernelMemory } from './kernel-memory.ts';
import { planFusedMatMul, planMatMul } from './matmul-shapes.ts';
import { replaceKernel, stockKernel } from './registry.ts';

interface WasmBackend {
  disposeData(dataId: object): boolean;
}

/** Runs a stock wasm kernel directly (not through the engine, so nothing is recorded on the tape). */
function run(kernelName: string, inputs: Record<string, TensorInfo>, backend: unknown, attrs: object): TensorInfo {
  return stockKernel(kernelName, 'wasm').kernelFunc({ inputs, backend: backend as never, attrs: attrs as never }) as TensorInfo;
}

/** Whether indexing batch t of the output as t mod (batch count) reads the right batch of this side. */
function moduloIndexable(batch: number[], batchOut: number[]): boolean {
  const first = batch.findIndex((d) => d !== 1);
  return first < 0 || batch.every((d, i) => i < first || d === batchOut[i]);
}

/** `x` untransposed and with exactly `batch` as its batch dims; temporaries it made go into `temps`. */
function materialise(x: TensorInfo, transpose: boolean, batch: number[], batchOut: number[], backend: unknown,
  temps: TensorInfo[]): TensorInfo {
  let t = x;
  const keep = (y: TensorInfo): TensorInfo => (temps.push(y), (t = y));
  if (transpose) {
    const r = t.shape.length;
    keep(run('Transpose', { x: t }, backend, { perm: [...Array(r - 2).keys(), r - 1, r - 2] }));
  }
  if (!moduloIndexable(batch, batchOut)) {
    const matrix = t.shape.slice(-2);
    if (batch.length !== t.shape.length - 2) keep(run('Reshape', { x: t }, backend, { shape: [...batch, ...matrix] }));
    keep(run('Tile', { x: t }, backend, { reps: [...batchOut.map((d, i) => d / batch[i]), 1, 1] }));
  }
  return t;
}

const batchMatMul = (stock: KernelConfig): KernelFunc => (args) => {
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  const p = planMatMul(a.shape, b.shape, !!transposeA, !!transposeB);
  const temps: TensorInfo[] = [];
  const a2 = materialise(a, !!transposeA, p.batchA, p.batchOut, args.backend, temps);
  const b2 = materialise(b, !!transposeB, p.batchB, p.batchOut, args.backend, temps);
  const out = stock.kernelFunc({ ...args, inputs: { a: a2, b: b2 }, attrs: { transposeA: false, transposeB: false } }) as TensorInfo;
  for (const t of temps) (args.backend as unknown as WasmBackend).disposeData(t.dataId);
  return { ...out, shape: p.outShape };
};

const fusedMatMul = (stockBatchMatMul: KernelConfig): KernelFunc => (args) => {
  const { a, b, bias, preluActivationWeights: prelu } = args.inputs as Record<string, TensorInfo | undefined> as {
    a: TensorInfo; b: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo;
  };
  const attrs = args.attrs as { transposeA: boolean; transposeB: boolean; activation?: FusedActivation; leakyreluAlpha?: number };
  const p = planFusedMatMul(a.shape, b.shape, !!attrs.transposeA, !!attrs.transposeB);
  // The stock kernel rejects batch counts like 6 and 3 (see planFusedMatMul): tile the smaller side out.
  const temps: TensorInfo[] = [];
  const a2 = materialise(a, !!attrs.transposeA, [a.shape[0]], p.batchOut, args.backend, temps);
  const b2 = materialise(b, !!attrs.transposeB, [b.shape[0]], p.batchOut, args.backend, temps);
  const out = stockBatchMatMul.kernelFunc({ ...args, inputs: { a: a2, b: b2 }, attrs: { transposeA: false, transposeB: false } }) as TensorInfo;
  for (const t of temps) (args.backend as unknown as WasmBackend).disposeData(t.dataId);
  // Bias and activation here: the stock _FusedMatMul adds the bias to the first batch only.
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
