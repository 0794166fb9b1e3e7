// Row surgery on KV caches, for continuous batching: sequences join a running batch (their caches are
// concatenated, the shorter ones left-padded with masked key slots) and leave it (their rows are
// dropped). A masked key gets exactly zero attention weight, and each row keeps its own positions, so
// a sequence decodes the same in any batch. Both architectures keep keys as [batch, heads, keys, d];
// what else a cache keeps per row (ChatGLM-6B's mask positions) travels as its rowExtras.
import * as tf from '@tensorflow/tfjs';
import type { KvCache, LayerKeyValues } from '../model/kv-cache.ts';
import type { CausalLanguageModel } from '../model/language-model.ts';

interface RowState {
  layers: LayerKeyValues[];
  keyMask: number[][];
  nextPositions: number[];
  extras: number[] | null;
}

/** A new cache of the model's kind holding `state`; it owns (and will dispose) the state's tensors. */
function cacheFrom(model: CausalLanguageModel, state: RowState): KvCache {
  const cache = model.createCache(state.keyMask.length);
  cache.restore(state.layers, state.keyMask, state.nextPositions, state.extras);
  return cache;
}

/**
 * A cache of the given rows of `cache` (in that order; a row may repeat, e.g. to fork one prompt into
 * n sequences). Key slots masked in every chosen row are cut off. `cache` is left as it was.
 */
export function selectRows(model: CausalLanguageModel, cache: KvCache, rows: readonly number[]): KvCache {
  const keyMask = rows.map((r) => [...cache.keyMask[r]]);
  let start = 0;
  while (start < cache.length && keyMask.every((m) => m[start] === 0)) start++;
  const layers = tf.tidy(() => {
    const index = tf.tensor1d(rows as number[], 'int32');
    const pick = (t: tf.Tensor4D) => {
      const gathered = tf.gather(t, index) as tf.Tensor4D;
      return start === 0 ? gathered : (tf.slice(gathered, [0, 0, start, 0], [-1, -1, -1, -1]) as tf.Tensor4D);
    };
    return cache.layers.map((l) => ({ key: pick(l.key), value: pick(l.value) }));
  });
  const extras = cache.rowExtras();
  return cacheFrom(model, {
    layers,
    keyMask: keyMask.map((m) => m.slice(start)),
    nextPositions: rows.map((r) => cache.nextPositions[r]),
    extras: extras ? rows.map((r) => extras[r]) : null,
  });
}

/** One cache with the rows of `a` then those of `b`; the shorter is left-padded with masked slots. Both are left as they were. */
export function concatRows(model: CausalLanguageModel, a: KvCache, b: KvCache): KvCache {
  const keys = Math.max(a.length, b.length);
  const padded = (cache: KvCache, t: tf.Tensor4D) => (cache.length === keys ? t : tf.pad(t, [[0, 0], [0, 0], [keys - cache.length, 0], [0, 0]]));
  const layers = tf.tidy(() =>
    a.layers.map((la, i) => {
      const lb = b.layers[i];
      return {
        key: tf.concat([padded(a, la.key), padded(b, lb.key)], 0) as tf.Tensor4D,
        value: tf.concat([padded(a, la.value), padded(b, lb.value)], 0) as tf.Tensor4D,
      };
    }),
  );
  const maskRows = (cache: KvCache) => cache.keyMask.map((m) => [...new Array<number>(keys - cache.length).fill(0), ...m]);
  const ea = a.rowExtras();
  const eb = b.rowExtras();
  return cacheFrom(model, {
    layers,
    keyMask: [...maskRows(a), ...maskRows(b)],
    nextPositions: [...a.nextPositions, ...b.nextPositions],
    extras: ea && eb ? [...ea, ...eb] : null,
  });
}
