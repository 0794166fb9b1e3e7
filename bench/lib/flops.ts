// Model FLOPs per trained token (for MFU) and the machine's SGEMM rate, measured in the same run.
import type { NativeKernels } from '../../src/compute/native.ts';

export interface FlopsShape {
  layers: number;
  seq: number;
  /** Query heads × head dim: the width of attention's products. */
  attentionWidth: number;
}

/**
 * Training FLOPs per token: 2·P forward and 2·P for the input gradients over the parameters that multiply
 * (P: all but the input embedding, a lookup), 2·P for the weight gradients of the trainable ones only (6·P
 * for full fine-tuning, as in Kaplan et al. and PaLM's MFU), plus attention's QKᵀ and PV products
 * (4·seq·width a layer forward, three times that with backward; causal masking not discounted).
 */
export function trainingFlopsPerToken(multiplying: number, trainableMultiplying: number, s: FlopsShape): number {
  return 4 * multiplying + 2 * trainableMultiplying + 12 * s.layers * s.seq * s.attentionWidth;
}

/** GFLOPS of OpenBLAS's SGEMM on [m×k]·[k×n] at the addon's current thread count, best of `runs`. */
export function sgemmRate(native: NativeKernels, m: number, k: number, n: number, runs = 5): number {
  const a = new Float32Array(m * k).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const b = new Float32Array(k * n).map((_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
  const c = new Float32Array(m * n);
  let best = Infinity;
  for (let r = 0; r <= runs; r++) { // the first run warms up
    const start = performance.now();
    native.sgemm(a, b, c, [], [], m, n, k, false, false, null);
    if (r > 0) best = Math.min(best, (performance.now() - start) / 1000);
  }
  return (2 * m * n * k) / best / 1e9;
}
