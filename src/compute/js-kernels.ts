// Kernels that TF.js's CPU-side backends lack or implement too slowly, written in plain JS.
// See ../shared/notes/tfjs-on-cpu.md (Q1): the embedding gradient needs UnsortedSegmentSum, which
// `wasm` does not have and `cpu` implements in O(vocab · n · inner).
import * as tf from '@tensorflow/tfjs';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';

interface HeapBackend {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array;
}
interface JsBackend {
  data: { get(id: object): { values: Float32Array | Int32Array } };
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): TensorInfo;
}

function scatterAdd(x: ArrayLike<number>, ids: ArrayLike<number>, out: Float32Array, inner: number, numSegments: number): void {
  out.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    for (let j = 0, o = s * inner, xo = i * inner; j < inner; j++) out[o + j] += x[xo + j];
  }
}

const unsortedSegmentSum = (backendName: 'wasm' | 'cpu'): KernelFunc => ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const numSegments = (attrs as { numSegments: number }).numSegments;
  const innerShape = x.shape.slice(segmentIds.shape.length);
  const inner = innerShape.reduce((p, q) => p * q, 1);
  const outShape = [numSegments, ...innerShape];
  if (backendName === 'wasm') {
    const b = backend as unknown as HeapBackend;
    const out = b.makeOutput(outShape, x.dtype); // allocate before taking heap views: growth detaches them
    scatterAdd(b.typedArrayFromHeap(x), b.typedArrayFromHeap(segmentIds), b.typedArrayFromHeap(out) as Float32Array, inner, numSegments);
    return out;
  }
  const b = backend as unknown as JsBackend;
  const values = new Float32Array(numSegments * inner);
  scatterAdd(b.data.get(x.dataId).values, b.data.get(segmentIds.dataId).values, values, inner, numSegments);
  return b.makeTensorInfo(outShape, x.dtype, values);
};

/** Registers the JS kernels for one backend, replacing built-in ones where ours are better. */
export function registerJsKernels(backendName: 'wasm' | 'cpu'): void {
  if (tf.getKernel('UnsortedSegmentSum', backendName)) tf.unregisterKernel('UnsortedSegmentSum', backendName);
  tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName, kernelFunc: unsortedSegmentSum(backendName) });
}
