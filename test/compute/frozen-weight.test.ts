// QuantizedLinearWeight: the product and its gradient equal those of the dequantized float weight, and the
// tape keeps no float copy of W (peak memory of a backward pass through a stack of frozen layers).
import test from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initCompute } from '../../src/compute/backend.ts';
import { QuantizedLinearWeight } from '../../src/compute/frozen-weight.ts';
import type { FrozenLinearWeight } from '../../src/model/extensions.ts';
import { maxAbsDiff, randomValues } from './reference.ts';

await initCompute('wasm');

test('x·Wᵀ and its gradient equal those of the dequantized float weight, for NF4 and int8', () => {
  for (const make of [QuantizedLinearWeight.nf4, QuantizedLinearWeight.int8]) {
    const w: FrozenLinearWeight = make(randomValues(48 * 64, 1), [48, 64]); // the model's interface
    tf.tidy(() => {
      const x = tf.tensor2d(randomValues(5 * 64, 2), [5, 64]);
      const dy = tf.tensor2d(randomValues(5 * 48, 3), [5, 48]);
      const wf = w.dequantize();
      assert.deepEqual(w.matmulTransposed(x).dataSync(), tf.matMul(x, wf, false, true).dataSync());
      const ours = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(w.matmulTransposed(v as tf.Tensor2D), dy)))(x);
      const plain = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.matMul(v, wf, false, true), dy)))(x);
      assert.ok(maxAbsDiff(ours.dataSync(), plain.dataSync()) < 1e-5);
    });
    w.dispose();
  }
});

test('a backward pass through frozen layers holds no float copy of their weights', async () => {
  const layers = 6, dim = 256, floatBytes = dim * dim * 4;
  const frozen = Array.from({ length: layers }, (_, i) => QuantizedLinearWeight.nf4(randomValues(dim * dim, 10 + i), [dim, dim]));
  const x = tf.variable(tf.tensor2d(randomValues(8 * dim, 5), [8, dim]));
  const peak = async (forward: (h: tf.Tensor2D, w: QuantizedLinearWeight) => tf.Tensor2D): Promise<number> => {
    const before = tf.memory().numTensors;
    const info = await tf.profile(() => {
      tf.tidy(() => {
        tf.variableGrads(() => frozen.reduce((h, w) => tf.tanh(forward(h, w)), x as tf.Tensor2D).sum() as tf.Scalar, [x]);
      });
    });
    assert.equal(tf.memory().numTensors, before);
    return info.peakBytes;
  };
  const naive = await peak((h, w) => tf.matMul(h, w.dequantize(), false, true)); // the tape keeps every float W
  const ours = await peak((h, w) => w.matmulTransposed(h));
  assert.ok(naive - ours >= (layers - 1) * floatBytes, `peak ${ours} bytes vs ${naive} without customGrad`);
  assert.equal(frozen[0].residentBytes(), dim * dim * 0.5625);
  frozen.forEach((w) => w.dispose());
  x.dispose();
});
