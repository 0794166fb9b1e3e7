// Quantized frozen weights as TF.js tensors, and the typed calls that dequantize them through the
// DequantNF4 / DequantInt8 kernels (./dequant-kernels.ts; registered by initCompute for wasm and cpu).
// Formats and their bit costs: ./quant/nf4.ts, ./quant/int8.ts, ./quant/absmax-dq.ts.
import * as tf from '@tensorflow/tfjs';
import { DEQUANT_INT8, DEQUANT_NF4 } from './dequant-kernels.ts';
import { quantizeAbsmax } from './quant/absmax-dq.ts';
import { quantizeInt8Rows } from './quant/int8.ts';
import { NF4_BLOCK_SIZE, quantizeNF4 } from './quant/nf4.ts';
import { packBytes, packNibbles } from './quant/planes.ts';

/** NF4 absmax after double quantisation: 8-bit codes (packed int32), a scale per 256, the mean. */
export interface DoubleQuantizedAbsmax {
  codes: tf.Tensor1D;
  scales: tf.Tensor1D;
  offset: number;
}

export interface NF4Weight {
  format: 'nf4';
  shape: number[];
  blockSize: number;
  /** int32 [ceil(n/8)], codes plane-major. */
  packed: tf.Tensor1D;
  absmax: tf.Tensor1D | DoubleQuantizedAbsmax;
}

export interface Int8Weight {
  format: 'int8';
  shape: number[];
  /** int32 [ceil(n/4)], codes plane-major. */
  packed: tf.Tensor1D;
  /** float32 [rows], absmax / 127 per row (a row is the last dim). */
  scales: tf.Tensor1D;
}

export type QuantizedWeight = NF4Weight | Int8Weight;

export interface NF4Options {
  blockSize?: number;
  /** Quantize the absmax values too (QLoRA's double quantisation): 4.127 instead of 4.5 bits per weight. */
  doubleQuant?: boolean;
}

const isDoubleQuantized = (a: tf.Tensor | DoubleQuantizedAbsmax): a is DoubleQuantizedAbsmax => !(a instanceof tf.Tensor);

/** Quantizes a row-major float32 weight of `shape` to NF4 (block-wise absmax). */
export function quantizeNF4Weight(values: Float32Array, shape: number[], options: NF4Options = {}): NF4Weight {
  const blockSize = options.blockSize ?? NF4_BLOCK_SIZE;
  const { codes, absmax } = quantizeNF4(values, blockSize);
  let stored: NF4Weight['absmax'];
  if (options.doubleQuant) {
    const q = quantizeAbsmax(absmax);
    stored = { codes: tf.tensor1d(packBytes(q.codes), 'int32'), scales: tf.tensor1d(q.scales), offset: q.offset };
  } else {
    stored = tf.tensor1d(absmax);
  }
  return { format: 'nf4', shape: [...shape], blockSize, packed: tf.tensor1d(packNibbles(codes), 'int32'), absmax: stored };
}

/** Quantizes a row-major float32 weight of `shape` to int8 with one absmax per row (last dim). */
export function quantizeInt8Weight(values: Float32Array, shape: number[]): Int8Weight {
  const { codes, scales } = quantizeInt8Rows(values, shape[shape.length - 1]);
  return { format: 'int8', shape: [...shape], packed: tf.tensor1d(packBytes(codes), 'int32'), scales: tf.tensor1d(scales) };
}

/** The float32 weight of `shape` from NF4 codes packed plane-major and their absmax. */
export function dequantNF4(packed: tf.Tensor, absmax: tf.Tensor | DoubleQuantizedAbsmax, shape: number[],
  blockSize = NF4_BLOCK_SIZE): tf.Tensor {
  if (isDoubleQuantized(absmax)) {
    return tf.engine().runKernel(DEQUANT_NF4, { packed, absmaxCodes: absmax.codes, absmaxScales: absmax.scales },
      { shape, blockSize, absmaxOffset: absmax.offset }) as tf.Tensor;
  }
  return tf.engine().runKernel(DEQUANT_NF4, { packed, absmax }, { shape, blockSize }) as tf.Tensor;
}

/** The float32 weight of `shape` from int8 codes packed plane-major and their per-row scales. */
export function dequantInt8(packed: tf.Tensor, scales: tf.Tensor, shape: number[]): tf.Tensor {
  return tf.engine().runKernel(DEQUANT_INT8, { packed, scales }, { shape }) as tf.Tensor;
}

export function dequantize(w: QuantizedWeight): tf.Tensor {
  return w.format === 'nf4' ? dequantNF4(w.packed, w.absmax, w.shape, w.blockSize) : dequantInt8(w.packed, w.scales, w.shape);
}

function tensorsOf(w: QuantizedWeight): tf.Tensor[] {
  if (w.format === 'int8') return [w.packed, w.scales];
  return isDoubleQuantized(w.absmax) ? [w.packed, w.absmax.codes, w.absmax.scales] : [w.packed, w.absmax];
}

/** Bytes the weight keeps resident (its tensors; the few header numbers aside). */
export function residentBytes(w: QuantizedWeight): number {
  return tensorsOf(w).reduce((sum, t) => sum + t.size * 4, 0);
}

export function disposeWeight(w: QuantizedWeight): void {
  tf.dispose(tensorsOf(w));
}
