// Chooses and initialises the TF.js backend for this thread, with the fastest kernels it can get. Only
// worker threads (and tests / CLIs / benches) call this: the HTTP main thread never imports TF.js.
//
// CPU-side paths, fastest first (numbers: ../shared/notes/tfjs-on-cpu.md and bench/matmul.ts):
//   wasm + OpenBLAS (glmtune-native)        every matmul in SGEMM, native dequantisation
//   wasm + XNNPACK, transposes materialised npm only, several times slower
//   cpu (pure JS)                           last resort
import * as tf from '@tensorflow/tfjs';
import { registerDequantKernels } from './dequant-kernels.ts';
import { registerFusedKernels } from './fused-kernels.ts';
import { registerJsKernels } from './js-kernels.ts';
import type { CpuSideBackend } from './kernel-memory.ts';
import { ENABLE_NATIVE_HINT, loadNative, type NativeLoad } from './native.ts';
import { registerNativeMatMul } from './native-matmul.ts';
import { clampBlasThreads, computeOptionsFromEnv, type ComputeOptions } from './options.ts';
import { registerTransposingMatMul } from './transposing-matmul.ts';

export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

export interface ComputeInfo {
  /** TF.js backend name as tf.getBackend() reports it. */
  backend: string;
  /** Which matrix-multiply implementation the backend uses. */
  matmul: 'tensorflow' | 'openblas' | 'xnnpack-transposing' | 'js';
  /** Which DequantNF4/DequantInt8 kernels are registered ('none': not on this backend). */
  dequant: 'native' | 'js' | 'none';
  /** Whether the fused transformer kernels (./fused-kernels.ts) are registered; without them ./ops/ runs plain TF.js ops. */
  fused: boolean;
  /** OpenBLAS: its version/build, the kernels it chose for this CPU, and its (process-wide) thread count. */
  blas?: { config: string; coreType: string; threads: number };
  /** Why the native kernels are not in use, on a CPU-side backend without them. */
  nativeUnavailable?: string;
  /** One line for the start-up log: what is active and, where relevant, how to get something faster. */
  message: string;
}

let active: ComputeInfo | undefined;

/** Loads an optional package by name; undefined when it is not installed or fails to load. */
async function tryImport(name: string): Promise<unknown> {
  try {
    return await import(name);
  } catch {
    return undefined;
  }
}

async function useTensorflow(): Promise<ComputeInfo | undefined> {
  // tfjs-node(-gpu) downloads libtensorflow at install time, so it is optional: present in the GPU image only.
  // The CPU kernels below are registered per backend name and never touch this backend.
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    if ((await tryImport(pkg)) && (await tf.setBackend('tensorflow'))) {
      return { backend: 'tensorflow', matmul: 'tensorflow', dequant: 'none', fused: false, message: `compute: ${pkg} (libtensorflow)` };
    }
  }
  return undefined;
}

/** Registers our kernels on a CPU-side backend that is already active, and describes the result. */
function equipCpuSide(backend: CpuSideBackend, options: ComputeOptions): ComputeInfo {
  registerJsKernels(backend);
  const load: NativeLoad = options.native
    ? loadNative()
    : { kernels: undefined, reason: 'native kernels are switched off (GLMTUNE_NATIVE=0)' };
  const name = `compute: TF.js ${backend} backend`;
  if (load.kernels) {
    const native = load.kernels;
    native.setThreads(clampBlasThreads(options.blasThreads));
    registerNativeMatMul(backend, native);
    registerDequantKernels(backend, native);
    registerFusedKernels(backend, native);
    const { blas, coreType } = native.config();
    const threads = native.getThreads();
    return {
      backend, matmul: 'openblas', dequant: 'native', fused: true, blas: { config: blas.trim(), coreType, threads },
      message: `${name}, matmul on OpenBLAS SGEMM (glmtune-native: ${coreType} kernels, ${threads} thread${threads > 1 ? 's' : ''}), native NF4/int8 dequantisation and fused transformer kernels`,
    };
  }
  if (backend === 'wasm') registerTransposingMatMul();
  registerDequantKernels(backend);
  const how = options.native
    ? `To enable the fast native path (OpenBLAS, several times faster training): ${ENABLE_NATIVE_HINT}`
    : 'Unset GLMTUNE_NATIVE to use them.';
  const matmul = backend === 'wasm' ? 'XNNPACK with materialised transposes (npm-only path)' : 'pure JavaScript (slow)';
  return {
    backend, matmul: backend === 'wasm' ? 'xnnpack-transposing' : 'js', dequant: 'js', fused: false, nativeUnavailable: load.reason,
    message: `${name}, matmul on ${matmul}, JS dequantisation: ${load.reason}. ${how}`,
  };
}

async function useWasm(options: ComputeOptions): Promise<ComputeInfo | undefined> {
  await import('@tensorflow/tfjs-backend-wasm'); // registers its kernels: ours must come after
  if (!(await tf.setBackend('wasm'))) return undefined;
  return equipCpuSide('wasm', options);
}

async function useCpu(options: ComputeOptions): Promise<ComputeInfo> {
  await tf.setBackend('cpu');
  return equipCpuSide('cpu', options);
}

/**
 * Initialises the backend once per thread; later calls return the same result. `options` default to the
 * environment (GLMTUNE_NATIVE, GLMTUNE_BLAS_THREADS: ./options.ts).
 */
export async function initCompute(choice: BackendChoice = 'auto', options?: ComputeOptions): Promise<ComputeInfo> {
  if (active) return active;
  const opts = options ?? computeOptionsFromEnv();
  let info: ComputeInfo | undefined;
  if (choice === 'tensorflow') {
    info = await useTensorflow();
    if (!info) throw new Error('TF_BACKEND=tensorflow but neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node could be loaded');
  } else if (choice === 'wasm') {
    info = await useWasm(opts);
    if (!info) throw new Error('TF_BACKEND=wasm but the wasm backend failed to initialise');
  } else if (choice === 'cpu') {
    info = await useCpu(opts);
  } else {
    info = (await useTensorflow()) ?? (await useWasm(opts)) ?? (await useCpu(opts));
  }
  await tf.ready();
  active = info;
  return info;
}
