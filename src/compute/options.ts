// The switches of the compute path. The service passes them from its parsed config; tests, CLIs and bench
// scripts that pass nothing get them from the environment here, the one place in src/compute that reads it.
import { availableParallelism } from 'node:os';

export interface ComputeOptions {
  /** Use the OpenBLAS addon (glmtune-native) when it loads. Env GLMTUNE_NATIVE=0 forces the npm-only path. */
  native: boolean;
  /**
   * OpenBLAS threads (env GLMTUNE_BLAS_THREADS, default `auto`: autoBlasThreads). OpenBLAS keeps ONE count
   * for the whole process, shared by every trainer and inference thread that multiplies.
   */
  blasThreads: number;
}

/**
 * The `auto` thread count: the cores shared out among the threads of this process that may multiply at
 * once (`busySlots`: trainer slots plus inference threads), at least one each, so two jobs training at once
 * never oversubscribe the cores. On the bench config (2 cores, one job) two threads trained 1.8× (full) and
 * 1.3× (LoRA) faster than one; on a model as small as glm-tiny one thread is a little faster (the GEMMs are
 * too small to split), but such a model trains in seconds either way.
 */
export function autoBlasThreads(busySlots: number): number {
  return Math.max(1, Math.floor(availableParallelism() / Math.max(1, busySlots)));
}

/**
 * Reads GLMTUNE_NATIVE and GLMTUNE_BLAS_THREADS for a process that computes on one thread at a time (a CLI,
 * a bench, a test); a wrong value throws an error that names the variable.
 */
export function computeOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ComputeOptions {
  const native = env.GLMTUNE_NATIVE?.trim().toLowerCase() ?? '';
  if (!['', '0', '1', 'true', 'false'].includes(native)) {
    throw new Error(`GLMTUNE_NATIVE must be 0, 1, true or false (got ${JSON.stringify(env.GLMTUNE_NATIVE)})`);
  }
  const threads = env.GLMTUNE_BLAS_THREADS?.trim().toLowerCase() ?? '';
  if (threads !== '' && threads !== 'auto' && !/^[1-9][0-9]*$/.test(threads)) {
    throw new Error(`GLMTUNE_BLAS_THREADS must be auto or a positive integer (got ${JSON.stringify(env.GLMTUNE_BLAS_THREADS)})`);
  }
  return {
    native: native !== '0' && native !== 'false',
    blasThreads: threads === '' || threads === 'auto' ? autoBlasThreads(1) : Number(threads),
  };
}

/** More BLAS threads than cores only adds contention. */
export function clampBlasThreads(threads: number): number {
  return Math.max(1, Math.min(Math.floor(threads), availableParallelism()));
}
