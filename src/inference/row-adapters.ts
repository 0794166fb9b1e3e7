// LoRA adapters for a batch whose rows belong to different fine-tunes of one base (multi-adapter
// serving as in S-LoRA / LoRAX): the base weights run once for the whole batch, and each linear site
// adds, per run of consecutive rows with the same adapter, that adapter's delta (zero for rows
// without one). Rows of a batch are [tokensPerRow] consecutive rows of the model's [N, in] inputs.
import * as tf from '@tensorflow/tfjs';
import type { AdapterSet, LinearAdapter } from '../model/extensions.ts';

interface Run {
  start: number;
  count: number;
  adapters: AdapterSet | undefined;
}

function runsOf(rowAdapters: readonly (AdapterSet | undefined)[]): Run[] {
  const runs: Run[] = [];
  rowAdapters.forEach((adapters, row) => {
    const last = runs.at(-1);
    if (last && last.adapters === adapters) last.count++;
    else runs.push({ start: row, count: 1, adapters });
  });
  return runs;
}

/** The adapter set of one forward pass over rows with these adapters (undefined: none has one). */
export function batchAdapters(rowAdapters: readonly (AdapterSet | undefined)[], tokensPerRow: number): AdapterSet | undefined {
  const runs = runsOf(rowAdapters);
  if (runs.length === 1) return runs[0].adapters;
  const sites = new Set(runs.flatMap((r) => (r.adapters ? [...r.adapters.keys()] : [])));
  if (sites.size === 0) return undefined;
  const mixed = new Map<string, LinearAdapter>();
  for (const site of sites) {
    mixed.set(site, {
      delta: (x, training) => {
        const parts: (tf.Tensor2D | number)[] = runs.map((run) => {
          const adapter = run.adapters?.get(site);
          if (!adapter) return run.count * tokensPerRow; // rows of zeros, once the width is known
          return adapter.delta(tf.slice(x, [run.start * tokensPerRow, 0], [run.count * tokensPerRow, -1]), training);
        });
        const width = (parts.find((p) => typeof p !== 'number') as tf.Tensor2D).shape[1];
        return tf.concat(parts.map((p) => (typeof p === 'number' ? tf.zeros([p, width]) : p)) as tf.Tensor2D[], 0);
      },
    });
  }
  return mixed;
}
