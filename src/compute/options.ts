// The switches of the compute path. The service passes them from its parsed config; tests, CLIs and bench
// scripts that pass nothing get them from the environment here, the one place in src/compute that reads it.
import { availableParallelism } from 'node:os';

export interface ComputeOptions {
  /** Use the OpenBLAS addon (glmtune-native) when it loads. Env GLMTUNE_NATIVE=0 forces the npm-only path. */
  native: boolean;
  /**
   * OpenBLAS threads (env GLMTUNE_BLAS_THREADS, default 1). OpenBLAS keeps ONE count for the whole process,
   * shared by every trainer and inference thread, so size it as cores ÷ threads that multiply at once:
   * one thread per busy slot was faster than two on this 2-core machine (bench/matmul.ts).
   */
  blasThreads: number;
}

/** Reads GLMTUNE_NATIVE and GLMTUNE_BLAS_THREADS; a wrong value throws an error that names the variable. */
export function computeOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ComputeOptions {
  const native = env.GLMTUNE_NATIVE?.trim().toLowerCase() ?? '';
  if (!['', '0', '1', 'true', 'false'].includes(native)) {
    throw new Error(`GLMTUNE_NATIVE must be 0, 1, true or false (got ${JSON.stringify(env.GLMTUNE_NATIVE)})`);
  }
  const threads = env.GLMTUNE_BLAS_THREADS?.trim() ?? '';
  if (threads !== '' && !/^[1-9][0-9]*$/.test(threads)) {
    throw new Error(`GLMTUNE_BLAS_THREADS must be a positive integer (got ${JSON.stringify(env.GLMTUNE_BLAS_THREADS)})`);
  }
  return {
    native: native !== '0' && native !== 'false',
    blasThreads: threads === '' ? 1 : Number(threads),
  };
}

/** More BLAS threads than cores only adds contention. */
export function clampBlasThreads(threads: number): number {
  return Math.max(1, Math.min(Math.floor(threads), availableParallelism()));
}
