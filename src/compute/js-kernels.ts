// Kernels that TF.js's CPU-side backends lack or implement too slowly, written in plain JS.
// See ../shared/notes/tfjs-on-cpu.md (Q1): the embedding gradient needs UnsortedSegmentSum, which
// `wasm` does not have and `cpu` implements in O(vocab · n · inner). The scatter-add below is O(n · inner)
// and memory-bound, so a native version would not pay.
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { kernelMemory, type CpuSideBackend } from './kernel-memory.ts';
import { replaceKernel } from './registry.ts';

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
  const inner = innerShape.reduce((p, q) => p * q, 1);
  const memory = kernelMemory(backendName, backend);
  const out = memory.allocate([numSegments, ...innerShape], x.dtype as 'float32' | 'int32');
  scatterAdd(memory.view(x), memory.view(segmentIds), memory.view(out), inner, numSegments);
  return out;
};

/** Registers the JS kernels for one backend, replacing built-in ones where ours are better. */
export function registerJsKernels(backendName: CpuSideBackend): void {
  replaceKernel({ kernelName: 'UnsortedSegmentSum', backendName, kernelFunc: unsortedSegmentSum(backendName) });
}
