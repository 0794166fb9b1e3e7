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
