// BatchMatMul and _FusedMatMul for the `wasm` and `cpu` backends on OpenBLAS's SGEMM (glmtune-native):
// every float32 product, forward and inside gradients, with numpy batch broadcasting. Inputs and output are
// used in place (wasm heap views or the cpu backend's arrays); int32 products go to the stock kernels.
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { activate, addBias, type FusedActivation } from './fused-epilogue.ts';
import { kernelMemory, type CpuSideBackend, type KernelMemory } from './kernel-memory.ts';
import { planFusedMatMul, planMatMul, shapeSize, type MatMulPlan } from './matmul-shapes.ts';
import type { NativeKernels } from './native.ts';
import { replaceKernel, stockKernel } from './registry.ts';

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}
interface FusedAttrs extends MatMulAttrs {
  activation?: FusedActivation;
  leakyreluAlpha?: number;
}

/** Allocates the output, then multiplies; `rowBias` (n values) seeds every row. */
function multiply(native: NativeKernels, memory: KernelMemory, a: TensorInfo, b: TensorInfo, p: MatMulPlan,
  attrs: MatMulAttrs, rowBias?: TensorInfo): TensorInfo {
  const out = memory.allocate(p.outShape, 'float32');
  if (p.m === 0 || p.n === 0 || shapeSize(p.batchOut) === 0) return out;
  const c = memory.view(out) as Float32Array;
  if (p.k === 0) {
    // An empty sum: zeros (plus the bias). BLAS rejects k = 0 leading dimensions, so do it here.
    if (rowBias) {
      const bias = memory.view(rowBias) as Float32Array;
      for (let row = 0; row < c.length; row += p.n) c.set(bias, row);
    } else {
      c.fill(0);
    }
    return out;
  }
  native.sgemm(memory.view(a) as Float32Array, memory.view(b) as Float32Array, c, p.batchA, p.batchB,
    p.m, p.n, p.k, !!attrs.transposeA, !!attrs.transposeB, rowBias ? (memory.view(rowBias) as Float32Array) : null);
  return out;
}

const batchMatMul = (backendName: CpuSideBackend, native: NativeKernels, stock: KernelConfig): KernelFunc => (args) => {
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return stock.kernelFunc(args);
  const attrs = args.attrs as unknown as MatMulAttrs;
  const p = planMatMul(a.shape, b.shape, !!attrs.transposeA, !!attrs.transposeB);
  return multiply(native, kernelMemory(backendName, args.backend), a, b, p, attrs);
};

const fusedMatMul = (backendName: CpuSideBackend, native: NativeKernels, stock: KernelConfig): KernelFunc => (args) => {
  const { a, b, bias, preluActivationWeights: prelu } = args.inputs as Record<string, TensorInfo | undefined> as {
    a: TensorInfo; b: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo;
  };
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return stock.kernelFunc(args);
  const attrs = args.attrs as unknown as FusedAttrs;
  const p = planFusedMatMul(a.shape, b.shape, !!attrs.transposeA, !!attrs.transposeB);
  const memory = kernelMemory(backendName, args.backend);
  // The usual bias, one value per output column, goes into the GEMM; any other broadcast is added after.
  const rowBias = bias && shapeSize(bias.shape) === p.n && bias.shape[bias.shape.length - 1] === p.n ? bias : undefined;
  const out = multiply(native, memory, a, b, p, attrs, rowBias);
  const c = memory.view(out) as Float32Array;
  if (bias && !rowBias) addBias(c, p.outShape, memory.view(bias) as Float32Array, bias.shape);
  activate(c, p.outShape, attrs.activation ?? 'linear', attrs.leakyreluAlpha ?? 0.2,
    prelu && { values: memory.view(prelu) as Float32Array, shape: prelu.shape });
  return out;
};

/** Replaces BatchMatMul and _FusedMatMul of `backendName` with the OpenBLAS kernels. */
export function registerNativeMatMul(backendName: CpuSideBackend, native: NativeKernels): void {
  for (const [kernelName, make] of [['BatchMatMul', batchMatMul], ['_FusedMatMul', fusedMatMul]] as const) {
    const stock = stockKernel(kernelName, backendName);
    // Keep the stock setupFunc: the wasm stock kernelFunc, used for int32, relies on it.
    replaceKernel({ ...stock, kernelFunc: make(backendName, native, stock) });
  }
}
