// The JS kernels (GatherV2, UnsortedSegmentSum) on both CPU-side backends, against plain references.
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
