// Keys and values of every position seen so far, per layer, for incremental decoding. A forward pass
// given a cache attends to its keys and replaces them with the longer set (TF.js tensors are immutable,
// so "append" is concat + dispose of the old ones). A P-tuning prefix starts out in the cache.
import * as tf from '@tensorflow/tfjs';

// A type alias, not an interface, so that arrays of it are TensorContainers (tf.tidy can return them).
export type LayerKeyValues = {
  key: tf.Tensor4D; //   [batch, groups, keys, d], rotated (prefix keys are not)
  value: tf.Tensor4D; // [batch, groups, keys, d]
};

export class KvCache {
  /** Per layer; empty until the first forward (or holding the prefix). */
  private layerKV: LayerKeyValues[];
  /** [batch][keys]: 1 where a cached key may be attended (0 for left padding). */
  private mask: number[][];
  /** [batch]: the position id the next token of each row gets. */
  private positions: number[];

  /** `initial` (a prefix) becomes the cache's own: it disposes those tensors. */
  constructor(readonly batchSize: number, initial?: { layers: LayerKeyValues[]; keyMask: number[][] }) {
    this.layerKV = initial ? [...initial.layers] : [];
    this.mask = initial ? initial.keyMask.map((r) => [...r]) : Array.from({ length: batchSize }, () => []);
    this.positions = new Array<number>(batchSize).fill(0);
  }

  /** Number of cached key positions (prefix included). */
  get length(): number {
    return this.mask[0].length;
  }

  get layers(): readonly LayerKeyValues[] {
    return this.layerKV;
  }

  get keyMask(): readonly (readonly number[])[] {
    return this.mask;
  }

  get nextPositions(): readonly number[] {
    return this.positions;
  }

  /** Takes the forward pass's full key/value tensors (kept beyond its tidy) and disposes the old ones. */
  update(layers: LayerKeyValues[], keyMask: number[][], nextPositions: number[]): void {
    const old = this.layerKV;
    this.layerKV = layers.map((l) => ({ key: tf.keep(l.key), value: tf.keep(l.value) }));
    for (const l of old) tf.dispose([l.key, l.value]);
    this.mask = keyMask;
    this.positions = nextPositions;
  }

  /**
   * Per-row state beyond keys, key mask and positions that moving rows between caches must carry along
   * (src/inference/cache-rows.ts); none here.
   */
  rowExtras(): readonly number[] | null {
    return null;
  }

  /** Takes rows gathered from caches of this kind: their keys/values, key mask, positions and rowExtras. */
  restore(layers: LayerKeyValues[], keyMask: number[][], nextPositions: number[], _extras: number[] | null): void {
    this.update(layers, keyMask, nextPositions);
  }

  dispose(): void {
    for (const l of this.layerKV) tf.dispose([l.key, l.value]);
    this.layerKV = [];
  }
}
