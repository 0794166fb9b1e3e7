// Zero-copy access to tensor data inside a kernel, for the two CPU-side TF.js backends: `wasm` keeps tensors
// in its heap (views from typedArrayFromHeap), `cpu` in plain typed arrays (backend.data).
import type { TensorInfo } from '@tensorflow/tfjs';
import { shapeSize } from './matmul-shapes.ts';

export type CpuSideBackend = 'wasm' | 'cpu';

export interface KernelMemory {
  /**
   * A new output tensor. Allocate outputs BEFORE taking views: on wasm an allocation can grow the heap,
   * which detaches every view taken earlier.
   */
  allocate(shape: number[], dtype: 'float32' | 'int32'): TensorInfo;
  /** The tensor's values in place; writing to the view writes the tensor. */
  view(t: TensorInfo): Float32Array | Int32Array;
  /** A new reference to t's data, as an output (tensors are immutable, so sharing is safe). */
  share(t: TensorInfo): TensorInfo;
  /**
   * Whether t is the only tensor holding its data: then a kernel that is about to replace t (an optimizer
   * update of a variable) may overwrite it in place and return it shared, and nothing else sees the change.
   */
  exclusive(t: TensorInfo): boolean;
}

interface RefCounting {
  incRef(dataId: object): void;
  refCount(dataId: object): number;
}
interface WasmBackend extends RefCounting {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array;
}
interface JsBackend extends RefCounting {
  data: { get(id: object): { values: Float32Array | Int32Array } };
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array | Int32Array): TensorInfo;
}

export function kernelMemory(backendName: CpuSideBackend, backend: unknown): KernelMemory {
  const b = backend as WasmBackend & JsBackend;
  const references = {
    share: (t: TensorInfo) => {
      b.incRef(t.dataId);
      return { dataId: t.dataId, shape: t.shape, dtype: t.dtype };
    },
    exclusive: (t: TensorInfo) => b.refCount(t.dataId) === 1,
  };
  if (backendName === 'wasm') {
    return { allocate: (shape, dtype) => b.makeOutput(shape, dtype), view: (t) => b.typedArrayFromHeap(t), ...references };
  }
  return {
    allocate: (shape, dtype) => {
      const n = shapeSize(shape);
      return b.makeTensorInfo(shape, dtype, dtype === 'float32' ? new Float32Array(n) : new Int32Array(n));
    },
    view: (t) => b.data.get(t.dataId).values,
    ...references,
  };
}
