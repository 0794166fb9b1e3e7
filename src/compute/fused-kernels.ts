// Fused transformer kernels on glmtune-native (native/kernels/src/fused.cc), registered in TF.js's kernel
// registry for the `wasm` and `cpu` backends, with their gradients registered the way TF.js registers its
// own (tf.registerGradient: which inputs/outputs to keep, and the backward kernel to run). Each replaces a
// chain of ops that passes over the whole tensor once per op (and keeps a tensor per op for backward) with
// one pass, and keeps only what its backward needs. ./ops/ calls them where they are registered and falls
// back to the same computation in plain TF.js ops elsewhere (the npm-only path, the TensorFlow backend).
import * as tf from '@tensorflow/tfjs';
import type { KernelFunc, NamedAttrMap, Tensor, TensorInfo } from '@tensorflow/tfjs';
import { kernelMemory, type CpuSideBackend } from './kernel-memory.ts';
import { shapeSize } from './matmul-shapes.ts';
import type { NativeKernels } from './native.ts';
import { replaceKernel } from './registry.ts';

export const FUSED = {
  /** {x [..., h], weight [h]}, {eps} → [y (x's shape), rstd [rows]] */
  rmsNorm: 'GlmRmsNorm',
  rmsNormGrad: 'GlmRmsNormGrad',
  /** {u [..., 2f]} → y [..., f] = silu(u[..., :f]) · u[..., f:] */
  swiglu: 'GlmSwiGLU',
  swigluGrad: 'GlmSwiGLUGrad',
  /** {qkv [B·T, (H + 2g)·d], cos [B·T, d], sin [B·T, d]}, RotarySplitAttrs → [q [B, g, (H/g)·T, d], k [B, g, T, d], v [B, g, T, d]] */
  rotarySplit: 'GlmRotarySplit',
  rotarySplitGrad: 'GlmRotarySplitGrad',
  /** {x [..., R, K], mask? [..., R, K]} → softmax(x + mask) over the last dim (see maskSharing for the mask's batch dims) */
  maskedSoftmax: 'GlmMaskedSoftmax',
  softmaxGrad: 'GlmSoftmaxGrad',
  /** {logits [M, V], targets int32 [M]} → [loss [M], lse [M]] */
  crossEntropy: 'GlmCrossEntropy',
  crossEntropyGrad: 'GlmCrossEntropyGrad',
  /** {p, m, v, g} (same shapes), AdamWAttrs → [p', m', v'] (each in its input's memory when nothing else holds it) */
  adamw: 'GlmAdamW',
  /** {x} → scalar Σ x² */
  sumSquares: 'GlmSumSquares',
} as const;

export interface RotarySplitAttrs {
  batch: number;
  seq: number;
  heads: number;
  groups: number;
  headDim: number;
  /** Multiplies the queries (attention's 1/√d score scale). */
  qScale: number;
}

export interface AdamWAttrs {
  beta1: number;
  beta2: number;
  eps: number;
  stepSize: number;
  correction2Sqrt: number;
  decay: number;
}

/**
 * How many consecutive [R, K] matrices of x share one matrix of the mask, or undefined when the mask's batch
 * dims are not x's up to some point followed by 1s (what the native kernel reads; attention's [B or 1, 1]
 * against [B, g] is).
 */
export function maskSharing(xShape: readonly number[], maskShape: readonly number[]): number | undefined {
  const rank = xShape.length;
  if (maskShape.length !== rank || rank < 2 || maskShape[rank - 1] !== xShape[rank - 1] || maskShape[rank - 2] !== xShape[rank - 2]) return undefined;
  let i = 0;
  while (i < rank - 2 && maskShape[i] === xShape[i]) i++;
  for (let j = i; j < rank - 2; j++) if (maskShape[j] !== 1) return undefined;
  return shapeSize(xShape.slice(i, rank - 2));
}

type Make = (native: NativeKernels, backendName: CpuSideBackend) => KernelFunc;

const f32 = (a: Float32Array | Int32Array): Float32Array => a as Float32Array;

const rmsNorm: Make = (native, backendName) => ({ inputs, backend, attrs }) => {
  const { x, weight } = inputs as { x: TensorInfo; weight: TensorInfo };
  const h = x.shape[x.shape.length - 1], rows = shapeSize(x.shape) / h;
  const mem = kernelMemory(backendName, backend);
  const y = mem.allocate(x.shape, 'float32'), rstd = mem.allocate([rows], 'float32');
  native.rmsNorm(f32(mem.view(x)), f32(mem.view(weight)), f32(mem.view(y)), f32(mem.view(rstd)), rows, h, (attrs as { eps: number }).eps);
  return [y, rstd];
};

const rmsNormGrad: Make = (native, backendName) => ({ inputs, backend }) => {
  const { dy, x, weight, rstd } = inputs as Record<string, TensorInfo>;
  const h = x.shape[x.shape.length - 1], rows = shapeSize(x.shape) / h;
  const mem = kernelMemory(backendName, backend);
  const dx = mem.allocate(x.shape, 'float32'), dw = mem.allocate(weight.shape, 'float32');
  native.rmsNormGrad(f32(mem.view(dy)), f32(mem.view(x)), f32(mem.view(weight)), f32(mem.view(rstd)), f32(mem.view(dx)), f32(mem.view(dw)), rows, h);
  return [dx, dw];
};

const swiglu: Make = (native, backendName) => ({ inputs, backend }) => {
  const { u } = inputs as { u: TensorInfo };
  const f = u.shape[u.shape.length - 1] / 2, rows = shapeSize(u.shape) / (2 * f);
  const mem = kernelMemory(backendName, backend);
  const y = mem.allocate([...u.shape.slice(0, -1), f], 'float32');
  native.swiglu(f32(mem.view(u)), f32(mem.view(y)), rows, f);
  return y;
};

const swigluGrad: Make = (native, backendName) => ({ inputs, backend }) => {
  const { dy, u } = inputs as { dy: TensorInfo; u: TensorInfo };
  const f = u.shape[u.shape.length - 1] / 2, rows = shapeSize(u.shape) / (2 * f);
  const mem = kernelMemory(backendName, backend);
  const du = mem.allocate(u.shape, 'float32');
  native.swigluGrad(f32(mem.view(dy)), f32(mem.view(u)), f32(mem.view(du)), rows, f);
  return du;
};

const rotarySplit: Make = (native, backendName) => ({ inputs, backend, attrs }) => {
  const { qkv, cos, sin } = inputs as Record<string, TensorInfo>;
  const { batch: B, seq: T, heads: H, groups: g, headDim: d, qScale } = attrs as unknown as RotarySplitAttrs;
  const mem = kernelMemory(backendName, backend);
  const q = mem.allocate([B, g, (H / g) * T, d], 'float32'), k = mem.allocate([B, g, T, d], 'float32'), v = mem.allocate([B, g, T, d], 'float32');
  native.rotarySplit(f32(mem.view(qkv)), f32(mem.view(cos)), f32(mem.view(sin)), f32(mem.view(q)), f32(mem.view(k)), f32(mem.view(v)), B, T, H, g, d, qScale);
  return [q, k, v];
};

const rotarySplitGrad: Make = (native, backendName) => ({ inputs, backend, attrs }) => {
  const { dq, dk, dv, cos, sin } = inputs as Record<string, TensorInfo>;
  const { batch: B, seq: T, heads: H, groups: g, headDim: d, qScale } = attrs as unknown as RotarySplitAttrs;
  const mem = kernelMemory(backendName, backend);
  const dqkv = mem.allocate([B * T, (H + 2 * g) * d], 'float32');
  native.rotarySplitGrad(f32(mem.view(dq)), f32(mem.view(dk)), f32(mem.view(dv)), f32(mem.view(cos)), f32(mem.view(sin)), f32(mem.view(dqkv)), B, T, H, g, d, qScale);
  return dqkv;
};

const maskedSoftmax: Make = (native, backendName) => ({ inputs, backend }) => {
  const { x, mask } = inputs as { x: TensorInfo; mask?: TensorInfo };
  const cols = x.shape[x.shape.length - 1], rows = x.shape[x.shape.length - 2], matrices = shapeSize(x.shape) / (rows * cols);
  const share = mask ? maskSharing(x.shape, mask.shape) : 1;
  if (share === undefined) throw new Error(`${FUSED.maskedSoftmax}: mask [${mask!.shape}] does not broadcast to [${x.shape}] by leading dims`);
  const mem = kernelMemory(backendName, backend);
  const y = mem.allocate(x.shape, 'float32');
  native.softmax(f32(mem.view(x)), mask ? f32(mem.view(mask)) : null, f32(mem.view(y)), matrices, matrices / share, rows, cols);
  return y;
};

const softmaxGrad: Make = (native, backendName) => ({ inputs, backend }) => {
  const { dy, y } = inputs as { dy: TensorInfo; y: TensorInfo };
  const cols = y.shape[y.shape.length - 1];
  const mem = kernelMemory(backendName, backend);
  const dx = mem.allocate(y.shape, 'float32');
  native.softmaxGrad(f32(mem.view(dy)), f32(mem.view(y)), f32(mem.view(dx)), shapeSize(y.shape) / cols, cols);
  return dx;
};

const crossEntropy: Make = (native, backendName) => ({ inputs, backend }) => {
  const { logits, targets } = inputs as { logits: TensorInfo; targets: TensorInfo };
  const [M, V] = logits.shape;
  const mem = kernelMemory(backendName, backend);
  const loss = mem.allocate([M], 'float32'), lse = mem.allocate([M], 'float32');
  native.softmaxCrossEntropy(f32(mem.view(logits)), mem.view(targets) as Int32Array, f32(mem.view(loss)), f32(mem.view(lse)), M, V);
  return [loss, lse];
};

const crossEntropyGrad: Make = (native, backendName) => ({ inputs, backend }) => {
  const { logits, lse, targets, dloss } = inputs as Record<string, TensorInfo>;
  const [M, V] = logits.shape;
  const mem = kernelMemory(backendName, backend);
  const dlogits = mem.allocate(logits.shape, 'float32');
  native.softmaxCrossEntropyGrad(f32(mem.view(logits)), f32(mem.view(lse)), mem.view(targets) as Int32Array, f32(mem.view(dloss)), f32(mem.view(dlogits)), M, V);
  return dlogits;
};

const adamw: Make = (native, backendName) => ({ inputs, backend, attrs }) => {
  const { p, m, v, g } = inputs as Record<string, TensorInfo>;
  const a = attrs as unknown as AdamWAttrs;
  const mem = kernelMemory(backendName, backend);
  // The optimizer replaces p, m and v with the outputs: each that nothing else holds is updated in place (no
  // new buffer, half the memory traffic) and returned shared.
  const out = [p, m, v].map((t) => (mem.exclusive(t) ? mem.share(t) : mem.allocate(t.shape, 'float32')));
  const [pOut, mOut, vOut] = out.map((t) => f32(mem.view(t)));
  native.adamw(f32(mem.view(p)), f32(mem.view(m)), f32(mem.view(v)), f32(mem.view(g)), pOut, mOut, vOut, a.beta1, a.beta2, a.eps, a.stepSize, a.correction2Sqrt, a.decay);
  return out;
};

const sumSquares: Make = (native, backendName) => ({ inputs, backend }) => {
  const { x } = inputs as { x: TensorInfo };
  const mem = kernelMemory(backendName, backend);
  const out = mem.allocate([], 'float32');
  const total = native.sumSquares(f32(mem.view(x)));
  mem.view(out)[0] = total;
  return out;
};

const KERNELS: [string, Make][] = [
  [FUSED.rmsNorm, rmsNorm], [FUSED.rmsNormGrad, rmsNormGrad], [FUSED.swiglu, swiglu], [FUSED.swigluGrad, swigluGrad],
  [FUSED.rotarySplit, rotarySplit], [FUSED.rotarySplitGrad, rotarySplitGrad], [FUSED.maskedSoftmax, maskedSoftmax],
  [FUSED.softmaxGrad, softmaxGrad], [FUSED.crossEntropy, crossEntropy], [FUSED.crossEntropyGrad, crossEntropyGrad], [FUSED.adamw, adamw],
  [FUSED.sumSquares, sumSquares],
];

const run = (kernelName: string, inputs: Record<string, Tensor>, attrs: NamedAttrMap = {}): Tensor | Tensor[] =>
  tf.engine().runKernel(kernelName, inputs, attrs) as Tensor | Tensor[];

/** Backward functions of the forward kernels: what each keeps, and the backward kernel that uses it. */
function registerGradients(): void {
  tf.registerGradient({
    kernelName: FUSED.rmsNorm, inputsToSave: ['x', 'weight'], outputsToSave: [false, true],
    gradFunc: (dys, saved) => {
      const [x, weight, rstd] = saved;
      // The backward kernel gives both gradients in one pass, but TF.js asks for each in a scope of its own (and
      // only for those it needs: not the weight's when the weight is frozen), so each asks the kernel.
      const grad = (keep: 0 | 1): Tensor => {
        const both = run(FUSED.rmsNormGrad, { dy: (dys as Tensor[])[0], x, weight, rstd }) as Tensor[];
        both[1 - keep].dispose();
        return both[keep];
      };
      return { x: () => grad(0), weight: () => grad(1) };
    },
  });
  tf.registerGradient({
    kernelName: FUSED.swiglu, inputsToSave: ['u'],
    gradFunc: (dy, [u]) => ({ u: () => run(FUSED.swigluGrad, { dy: dy as Tensor, u }) as Tensor }),
  });
  tf.registerGradient({
    kernelName: FUSED.rotarySplit, inputsToSave: ['cos', 'sin'],
    gradFunc: (dys, [cos, sin], attrs) => {
      const [dq, dk, dv] = dys as Tensor[];
      return { qkv: () => run(FUSED.rotarySplitGrad, { dq, dk, dv, cos, sin }, attrs) as Tensor };
    },
  });
  tf.registerGradient({
    kernelName: FUSED.maskedSoftmax, outputsToSave: [true],
    gradFunc: (dy, [y]) => ({ x: () => run(FUSED.softmaxGrad, { dy: dy as Tensor, y }) as Tensor }),
  });
  tf.registerGradient({
    kernelName: FUSED.crossEntropy, inputsToSave: ['logits', 'targets'], outputsToSave: [false, true],
    gradFunc: (dys, [logits, targets, lse]) => ({
      logits: () => run(FUSED.crossEntropyGrad, { logits, lse, targets, dloss: (dys as Tensor[])[0] }) as Tensor,
    }),
  });
}

/** Registers the fused kernels (and, once, their gradients) for `backendName` on the native addon. */
export function registerFusedKernels(backendName: CpuSideBackend, native: NativeKernels): void {
  for (const [kernelName, make] of KERNELS) replaceKernel({ kernelName, backendName, kernelFunc: make(native, backendName) });
  registerGradients();
}

/** Whether `kernelName` is registered for the active backend (./ops/ falls back to plain TF.js ops otherwise). */
export function fusedKernelActive(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}
