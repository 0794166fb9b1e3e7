// Loads glmtune-native, the OpenBLAS addon under native/kernels that `npm install` builds when it can (it
// is an optional dependency: without libopenblas-dev its build fails and the install goes on without it).
import { createRequire } from 'node:module';

/** The addon's functions (native/kernels/src/addon.cc). Arrays are used in place, never copied. */
export interface NativeKernels {
  /**
   * c[...batchOut, m, n] = op(a)[...batchA, m, k] · op(b)[...batchB, k, n], row-major; batchA/batchB are
   * padded to the same rank and broadcast numpy-style. With `bias` (length n) every row of c starts from it.
   */
  sgemm(a: Float32Array, b: Float32Array, c: Float32Array, batchA: number[], batchB: number[],
    m: number, n: number, k: number, transposeA: boolean, transposeB: boolean, bias: Float32Array | null): void;
  dequantNF4(packed: Int32Array, absmax: Float32Array, codebook: Float32Array, out: Float32Array, blockSize: number): void;
  dequantInt8Rows(packed: Int32Array, scales: Float32Array, out: Float32Array, cols: number): void;
  // The fused transformer kernels (native/kernels/src/kernels.h has each one's contract; ./fused-kernels.ts uses them).
  rmsNorm(x: Float32Array, w: Float32Array, y: Float32Array, rstd: Float32Array, rows: number, h: number, eps: number): void;
  rmsNormGrad(dy: Float32Array, x: Float32Array, w: Float32Array, rstd: Float32Array, dx: Float32Array, dw: Float32Array, rows: number, h: number): void;
  swiglu(u: Float32Array, y: Float32Array, rows: number, f: number): void;
  swigluGrad(dy: Float32Array, u: Float32Array, du: Float32Array, rows: number, f: number): void;
  rotarySplit(qkv: Float32Array, cos: Float32Array, sin: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array,
    batch: number, seq: number, heads: number, groups: number, d: number, qScale: number): void;
  rotarySplitGrad(dq: Float32Array, dk: Float32Array, dv: Float32Array, cos: Float32Array, sin: Float32Array, dqkv: Float32Array,
    batch: number, seq: number, heads: number, groups: number, d: number, qScale: number): void;
  softmax(x: Float32Array, mask: Float32Array | null, y: Float32Array, matrices: number, maskMatrices: number, rows: number, cols: number): void;
  softmaxGrad(dy: Float32Array, y: Float32Array, dx: Float32Array, rows: number, cols: number): void;
  softmaxCrossEntropy(logits: Float32Array, targets: Int32Array, loss: Float32Array, lse: Float32Array, rows: number, vocab: number): void;
  softmaxCrossEntropyGrad(logits: Float32Array, lse: Float32Array, targets: Int32Array, dloss: Float32Array, dlogits: Float32Array, rows: number, vocab: number): void;
  adamw(p: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, pOut: Float32Array, mOut: Float32Array, vOut: Float32Array,
    beta1: number, beta2: number, eps: number, stepSize: number, correction2Sqrt: number, decay: number): void;
  sumSquares(x: Float32Array): number;
  /** Process-wide: OpenBLAS has one thread count for all callers. */
  setThreads(threads: number): void;
  getThreads(): number;
  config(): { blas: string; coreType: string; parallel: number };
}

export type NativeLoad = { kernels: NativeKernels } | { kernels: undefined; reason: string };

let loaded: NativeLoad | undefined;

/** The addon, or why it is not available. Loaded once per thread. */
export function loadNative(): NativeLoad {
  if (loaded) return loaded;
  try {
    loaded = { kernels: createRequire(import.meta.url)('glmtune-native') as NativeKernels };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    loaded = {
      kernels: undefined,
      reason: e.code === 'MODULE_NOT_FOUND'
        ? 'the glmtune-native addon is not built (npm install skips it when libopenblas-dev is missing)'
        : `the glmtune-native addon failed to load: ${e.message.split('\n')[0]}`,
    };
  }
  return loaded;
}

/**
 * The command that installs what the addon needs and builds it (Debian/Ubuntu). `npm install` brings back
 * an optional dependency whose build failed (npm drops it; `npm rebuild` alone would not); the rebuild
 * covers an addon that is installed but was built against a missing or different OpenBLAS.
 */
export const ENABLE_NATIVE_HINT =
  'apt-get install -y libopenblas-dev pkg-config g++ make python3 && npm install && npm rebuild glmtune-native';
