// The JS kernels (GatherV2, UnsortedSegmentSum; on wasm also Sum over leading axes, and Identity/Cast sharing
// the input's data) on both CPU-side backends, against plain references.
import test from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerJsKernels } from '../../src/compute/js-kernels.ts';
import { randomValues } from './reference.ts';

registerJsKernels('wasm');
registerJsKernels('cpu');

/** x [outer, rows, inner] gathered along the middle dim. */
function referenceGather(x: Float32Array, outer: number, rows: number, inner: number, ids: number[]): number[] {
  const out: number[] = [];
  for (let o = 0; o < outer; o++) for (const id of ids) out.push(...x.subarray((o * rows + id) * inner, (o * rows + id + 1) * inner));
  return out;
}

for (const backend of ['wasm', 'cpu']) {
  test(`${backend}: GatherV2 copies the indexed slices along any axis, for float32 and int32`, async () => {
    await tf.setBackend(backend);
    const x = randomValues(3 * 5 * 4, 1), t = tf.tensor(x, [3, 5, 4]);
    const ids = [4, 0, 4, 2];
    const cases: [number, number[], number[], number, number, number][] = [
      [0, [2, 2], [2, 2, 5, 4], 1, 3, 20],
      [1, [4], [3, 4, 4], 3, 5, 4],
      [-1, [2, 2], [3, 5, 2, 2], 15, 4, 1],
    ];
    for (const [axis, idShape, outShape, outer, rows, inner] of cases) {
      const axisIds = ids.map((i) => i % rows);
      const out = tf.gather(t, tf.tensor(axisIds, idShape, 'int32'), axis);
      assert.deepEqual(out.shape, outShape, `axis ${axis}`);
      assert.deepEqual(Array.from(out.dataSync()), referenceGather(x, outer, rows, inner, axisIds), `axis ${axis}`);
      out.dispose();
    }
    const ints = tf.gather(tf.tensor2d([[1, 2], [3, 4], [5, 6]], [3, 2], 'int32'), tf.tensor1d([2, 0], 'int32'));
    assert.equal(ints.dtype, 'int32');
    assert.deepEqual(Array.from(ints.dataSync()), [5, 6, 1, 2]);
    assert.throws(() => tf.gather(t, tf.tensor1d([4], 'int32'), 2), /index 4 is not in \[0, 3\]/);
    tf.dispose([t, ints]);
  });

  test(`${backend}: UnsortedSegmentSum adds rows into their segments and ignores out-of-range ids`, async () => {
    await tf.setBackend(backend);
    const x = randomValues(5 * 3, 2);
    const ids = [2, 0, 2, -1, 7];
    const out = tf.unsortedSegmentSum(tf.tensor(x, [5, 3]), tf.tensor1d(ids, 'int32'), 4);
    const expected = new Float32Array(12);
    ids.forEach((s, i) => {
      if (s >= 0 && s < 4) for (let j = 0; j < 3; j++) expected[s * 3 + j] += x[i * 3 + j];
    });
    assert.deepEqual(out.shape, [4, 3]);
    assert.deepEqual(out.dataSync(), expected);
    out.dispose();
  });
}

test('wasm: Sum over leading axes adds rows; other reductions, int32 and keepDims still agree with the stock kernel', async () => {
  await tf.setBackend('wasm');
  const x = randomValues(4 * 3 * 5, 3), t = tf.tensor(x, [4, 3, 5]);
  const expected = (axes: number[]): number[] => {
    const out = new Map<string, number>();
    for (let i = 0; i < 4; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 5; k++) {
      const key = [i, j, k].filter((_, d) => !axes.includes(d)).join(',');
      out.set(key, (out.get(key) ?? 0) + x[(i * 3 + j) * 5 + k]);
    }
    return [...out.values()];
  };
  for (const [axis, shape] of [[0, [3, 5]], [[0, 1], [5]], [[1, 0], [5]], [-3, [3, 5]], [2, [4, 3]], [[0, 2], [3]], [[0, 1, 2], []]] as [number | number[], number[]][]) {
    const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + 3 : a));
    const out = tf.sum(t, axis);
    assert.deepEqual(out.shape, shape, `axis ${axis}`);
    const got = out.dataSync();
    expected(axes).forEach((v, i) => assert.ok(Math.abs(got[i] - v) < 1e-5, `axis ${axis} [${i}]: ${got[i]} vs ${v}`));
    out.dispose();
  }
  const kept = tf.sum(t, 0, true);
  assert.deepEqual(kept.shape, [1, 3, 5]);
  const ints = tf.sum(tf.tensor2d([[1, 2], [3, 4]], [2, 2], 'int32'), 0);
  assert.equal(ints.dtype, 'int32');
  assert.deepEqual(Array.from(ints.dataSync()), [4, 6]);
  tf.dispose([t, kept, ints]);
});

test('wasm: Identity and a Cast to the same dtype share the data (no copy); other casts still convert', async () => {
  await tf.setBackend('wasm');
  const x = tf.tensor1d([1.5, -2.25, 3]);
  const before = tf.memory().numBytes;
  const clone = tf.clone(x), same = tf.cast(x, 'float32');
  assert.equal(clone.dataId, x.dataId);
  assert.equal(same.dataId, x.dataId);
  x.dispose(); // the others keep the data alive
  assert.deepEqual(Array.from(clone.dataSync()), [1.5, -2.25, 3]);
  assert.deepEqual(Array.from(tf.cast(clone, 'int32').dataSync()), [1, -2, 3]);
  tf.dispose([clone, same]);
  assert.ok(tf.memory().numBytes <= before);
});
