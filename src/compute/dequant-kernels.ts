// Dequantisation kernels for frozen quantized weights (QLoRA), registered in TF.js under their own names for
// the `wasm` and `cpu` backends: native (glmtune-native) when the addon is loaded, JS otherwise. Both write
// the float32 weight straight into the output tensor. Formats: ./quant/nf4.ts, ./quant/int8.ts.
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { kernelMemory, type CpuSideBackend } from './kernel-memory.ts';
import { shapeSize } from './matmul-shapes.ts';
import type { NativeKernels } from './native.ts';
import { decodeAbsmax } from './quant/absmax-dq.ts';
import { decodeInt8Rows } from './quant/int8.ts';
import { decodeNF4, NF4_CODEBOOK } from './quant/nf4.ts';
import { replaceKernel } from './registry.ts';

/**
 * Inputs: `packed` int32 [ceil(n/8)] and either `absmax` float32 [ceil(n/blockSize)], or the double-quantized
 * `absmaxCodes` int32 (packBytes) with `absmaxScales` float32 and attr `absmaxOffset`.
 */
export const DEQUANT_NF4 = 'DequantNF4';
export interface DequantNF4Attrs {
  shape: number[];
  blockSize: number;
  absmaxOffset?: number;
}

/** Inputs: `packed` int32 [ceil(n/4)], `scales` float32 [rows]; a row is the last dim of `shape`. */
export const DEQUANT_INT8 = 'DequantInt8';
export interface DequantInt8Attrs {
  shape: number[];
}

function expectLength(t: TensorInfo | undefined, length: number, dtype: string, what: string): TensorInfo {
  if (!t || t.dtype !== dtype || shapeSize(t.shape) < length) {
    throw new Error(`${what} must be a ${dtype} tensor of at least ${length} values`);
  }
  return t;
}

const dequantNF4 = (backendName: CpuSideBackend, native?: NativeKernels): KernelFunc => ({ inputs, backend, attrs }) => {
  const { shape, blockSize, absmaxOffset } = attrs as unknown as DequantNF4Attrs;
  const n = shapeSize(shape), blocks = Math.ceil(n / blockSize);
  const packedT = expectLength(inputs.packed, Math.ceil(n / 8), 'int32', `${DEQUANT_NF4}: packed`);
  const memory = kernelMemory(backendName, backend);
  const out = memory.allocate(shape, 'float32');
  if (n === 0) return out;
  let absmax: Float32Array;
  if (inputs.absmax) {
    absmax = memory.view(expectLength(inputs.absmax, blocks, 'float32', `${DEQUANT_NF4}: absmax`)) as Float32Array;
  } else {
    const codes = expectLength(inputs.absmaxCodes, Math.ceil(blocks / 4), 'int32', `${DEQUANT_NF4}: absmaxCodes`);
    const scales = expectLength(inputs.absmaxScales, Math.ceil(blocks / 256), 'float32', `${DEQUANT_NF4}: absmaxScales`);
    absmax = new Float32Array(blocks);
    decodeAbsmax(memory.view(codes) as Int32Array, memory.view(scales) as Float32Array, absmaxOffset ?? 0, absmax);
  }
  const packed = memory.view(packedT) as Int32Array, values = memory.view(out) as Float32Array;
  if (native) native.dequantNF4(packed, absmax, NF4_CODEBOOK, values, blockSize);
  else decodeNF4(packed, absmax, values, blockSize);
  return out;
};

const dequantInt8 = (backendName: CpuSideBackend, native?: NativeKernels): KernelFunc => ({ inputs, backend, attrs }) => {
  const { shape } = attrs as unknown as DequantInt8Attrs;
  const n = shapeSize(shape), cols = shape[shape.length - 1] ?? 1;
  const packedT = expectLength(inputs.packed, Math.ceil(n / 4), 'int32', `${DEQUANT_INT8}: packed`);
  const scalesT = expectLength(inputs.scales, Math.ceil(n / cols), 'float32', `${DEQUANT_INT8}: scales`);
  const memory = kernelMemory(backendName, backend);
  const out = memory.allocate(shape, 'float32');
  if (n === 0) return out;
  const packed = memory.view(packedT) as Int32Array, scales = memory.view(scalesT) as Float32Array;
  const values = memory.view(out) as Float32Array;
  if (native) native.dequantInt8Rows(packed, scales, values, cols);
  else decodeInt8Rows(packed, scales, values, cols);
  return out;
};

/** Registers DequantNF4 and DequantInt8 for `backendName`, native when `native` is given. */
export function registerDequantKernels(backendName: CpuSideBackend, native?: NativeKernels): void {
  replaceKernel({ kernelName: DEQUANT_NF4, backendName, kernelFunc: dequantNF4(backendName, native) });
  replaceKernel({ kernelName: DEQUANT_INT8, backendName, kernelFunc: dequantInt8(backendName, native) });
}
