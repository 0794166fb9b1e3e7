// Kernels that TF.js's CPU-side backends lack or implement too slowly, written in plain JS. Both are
// memory-bound copies/sums, which JS on typed arrays does at memory speed: a native version would not pay.
// - UnsortedSegmentSum, the embedding gradient (../shared/notes/tfjs-on-cpu.md, Q1): `wasm` does not have it,
//   `cpu` implements it in O(vocab · n · inner); this scatter-add is O(n · inner).
// - GatherV2, the embedding lookup: both backends compute an index per element (≈5 ns per value: 23 ms on
//   wasm and 43 ms on cpu for 2048 rows of 512); copying whole rows takes about 1 ms.
// - Sum over leading axes (a bias gradient: [tokens, width] summed over the tokens) on `wasm`: its kernel
//   transposes the reduced axes to the end first (≈2 ms for [512, 768]); adding rows takes ≈0.2 ms.
// - Identity, and Cast to the tensor's own dtype, on `wasm`: its kernels copy the data, where `cpu`'s share
//   it (tensors are immutable, so sharing is safe). TF.js clones, through Identity, every tensor that a
//   kernel keeps for its gradient, so on wasm every such tensor was held twice and copied once: ≈580
//   copies per training micro-batch of the bench config (bench/train.ts).
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { kernelMemory, type CpuSideBackend } from './kernel-memory.ts';
import { replaceKernel, stockKernel } from './registry.ts';
import { shapeSize } from './matmul-shapes.ts';

function scatterAdd(x: ArrayLike<number>, ids: ArrayLike<number>, out: Float32Array | Int32Array, inner: number, numSegments: number): void {
  out.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    for (let j = 0, o = s * inner, xo = i * inner; j < inner; j++) out[o + j] += x[xo + j];
  }
}

const unsortedSegmentSum = (backendName: CpuSideBackend): KernelFunc => ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const numSegments = (attrs as { numSegments: number }).numSegments;
  const innerShape = x.shape.slice(segmentIds.shape.length);
  const inner = shapeSize(innerShape);
  const memory = kernelMemory(backendName, backend);
  const out = memory.allocate([numSegments, ...innerShape], x.dtype as 'float32' | 'int32');
  scatterAdd(memory.view(x), memory.view(segmentIds), memory.view(out), inner, numSegments);
  return out;
};

/** out[o, i, :] = x[o, indices[i], :] with o over the dims before `axis`: one block copy per index. */
const gatherV2 = (backendName: CpuSideBackend, stock: KernelConfig): KernelFunc => (args) => {
  const { x, indices } = args.inputs as { x: TensorInfo; indices: TensorInfo };
  const { axis, batchDims } = args.attrs as { axis: number; batchDims?: number };
  if ((batchDims ?? 0) !== 0 || (x.dtype !== 'float32' && x.dtype !== 'int32')) return stock.kernelFunc(args);
  const ax = axis < 0 ? axis + x.shape.length : axis;
  const rows = x.shape[ax];
  const outer = shapeSize(x.shape.slice(0, ax));
  const inner = shapeSize(x.shape.slice(ax + 1));
  const memory = kernelMemory(backendName, args.backend);
  for (const id of memory.view(indices)) {
    if (!(id >= 0 && id < rows)) throw new Error(`GatherV2: index ${id} is not in [0, ${rows - 1}]`);
  }
  const out = memory.allocate([...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)], x.dtype);
  const xv = memory.view(x), ids = memory.view(indices), ov = memory.view(out);
  for (let o = 0, dst = 0; o < outer; o++) {
    for (let i = 0; i < ids.length; i++, dst += inner) {
      const src = (o * rows + ids[i]) * inner;
      if (inner === 1) ov[dst] = xv[src];
      else ov.set(xv.subarray(src, src + inner), dst);
    }
  }
  return out;
};

/** Sum over axes 0..k-1 (k < rank) of a float32 tensor: row by row into a float64 accumulator. */
const sumLeadingAxes = (stock: KernelConfig): KernelFunc => (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
  const rank = x.shape.length;
  const axes = [...new Set((Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
  const k = axes.length;
  if (x.dtype !== 'float32' || k === 0 || k >= rank || axes[k - 1] !== k - 1) return stock.kernelFunc(args);
  const inner = shapeSize(x.shape.slice(k)), outer = shapeSize(x.shape.slice(0, k));
  const memory = kernelMemory('wasm', args.backend);
  const out = memory.allocate(keepDims ? [...new Array<number>(k).fill(1), ...x.shape.slice(k)] : x.shape.slice(k), 'float32');
  const xv = memory.view(x), ov = memory.view(out);
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) for (let j = 0, at = o * inner; j < inner; j++) acc[j] += xv[at + j];
  ov.set(acc);
  return out;
};

/** The input itself under a new reference, as the cpu backend's Identity does. */
const share = (x: TensorInfo, backend: unknown): TensorInfo => kernelMemory('wasm', backend).share(x);

const identity = (stock: KernelConfig): KernelFunc => (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  return x.dtype === 'string' ? stock.kernelFunc(args) : share(x, args.backend);
};

const cast = (stock: KernelConfig): KernelFunc => (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  return x.dtype === (args.attrs as { dtype: string }).dtype && x.dtype !== 'string' ? share(x, args.backend) : stock.kernelFunc(args);
};

/** Registers the JS kernels for one backend, replacing built-in ones where ours are better. */
export function registerJsKernels(backendName: CpuSideBackend): void {
  replaceKernel({ kernelName: 'UnsortedSegmentSum', backendName, kernelFunc: unsortedSegmentSum(backendName) });
  const wrap = (kernelName: string, make: (stock: KernelConfig) => KernelFunc): void => {
    const stock = stockKernel(kernelName, backendName);
    replaceKernel({ ...stock, kernelFunc: make(stock) });
  };
  wrap('GatherV2', (stock) => gatherV2(backendName, stock));
  if (backendName === 'wasm') {
    wrap('Sum', sumLeadingAxes);
    wrap('Identity', identity);
    wrap('Cast', cast);
  }
}
