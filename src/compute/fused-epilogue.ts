// The part of _FusedMatMul after the product: bias and activation, in place on the rank-3 output
// [batch, m, n] (tf.fused.matMul always hands the kernel rank-3 operands). Shared by the native and the
// npm-only kernels; the stock wasm kernel cannot be used for it, as it adds the bias to the first batch only.
import { shapeSize } from './matmul-shapes.ts';

export type FusedActivation = 'linear' | 'relu' | 'relu6' | 'elu' | 'leakyrelu' | 'prelu' | 'sigmoid';

/** Strides that read `shape` (right-aligned to the rank-3 `outShape`) at each output position; 0 broadcasts. */
function broadcastStrides(shape: readonly number[], outShape: readonly number[], what: string): number[] {
  // Leading dims beyond rank 3 fold into the batch dim, as tf.fused.matMul folded the operands' batch dims.
  const folded = shape.length > 3 ? [shapeSize(shape.slice(0, -2)), ...shape.slice(-2)] : [...shape];
  const s = [...new Array<number>(3 - folded.length).fill(1), ...folded];
  if (s.some((d, i) => d !== 1 && d !== outShape[i])) {
    throw new Error(`_FusedMatMul: ${what} of shape [${shape}] does not broadcast to [${outShape}]`);
  }
  return [s[0] === 1 ? 0 : s[1] * s[2], s[1] === 1 ? 0 : s[2], s[2] === 1 ? 0 : 1];
}

/** out[i] = f(out[i], operand[broadcast index of i]). */
function combine(out: Float32Array, outShape: readonly number[], operand: Float32Array, operandShape: readonly number[],
  what: string, f: (x: number, y: number) => number): void {
  const [s0, s1, s2] = broadcastStrides(operandShape, outShape, what);
  const [d0, d1, d2] = outShape;
  for (let i = 0, o = 0; i < d0; i++) {
    for (let j = 0; j < d1; j++) {
      for (let l = 0, q = i * s0 + j * s1; l < d2; l++, o++, q += s2) out[o] = f(out[o], operand[q]);
    }
  }
}

export function addBias(out: Float32Array, outShape: readonly number[], bias: Float32Array, biasShape: readonly number[]): void {
  combine(out, outShape, bias, biasShape, 'bias', (x, b) => x + b);
}

const ELEMENTWISE: Record<Exclude<FusedActivation, 'linear' | 'prelu'>, (x: number, alpha: number) => number> = {
  relu: (x) => (x > 0 ? x : 0),
  relu6: (x) => Math.min(Math.max(x, 0), 6),
  elu: (x) => (x >= 0 ? x : Math.exp(x) - 1),
  leakyrelu: (x, alpha) => (x < 0 ? alpha * x : x),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
};

/** Applies the activation; prelu reads its weights (broadcast like a bias). */
export function activate(out: Float32Array, outShape: readonly number[], activation: FusedActivation, leakyreluAlpha: number,
  prelu?: { values: Float32Array; shape: readonly number[] }): void {
  if (activation === 'linear') return;
  if (activation === 'prelu') {
    if (!prelu) throw new Error('_FusedMatMul: prelu activation without preluActivationWeights');
    combine(out, outShape, prelu.values, prelu.shape, 'prelu weights', (x, w) => (x < 0 ? w * x : x));
    return;
  }
  const f = ELEMENTWISE[activation];
  if (!f) throw new Error(`_FusedMatMul: unknown activation ${String(activation)}`);
  for (let i = 0; i < out.length; i++) out[i] = f(out[i], leakyreluAlpha);
}
