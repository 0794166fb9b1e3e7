// The npm-only matmul path (wasm XNNPACK behind the transposing/broadcasting wrapper), against float64
// references and the stock cpu kernels; also the stock wasm kernels' broadcasting errors it works around.
import test from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerJsKernels } from '../../src/compute/js-kernels.ts';
import { registerTransposingMatMul } from '../../src/compute/transposing-matmul.ts';
import { checkEmptyProducts, checkFusedCases, checkGradientsAgainstStockCpu, checkMatMulCases, trainingLosses } from './matmul-checks.ts';
import { maxAbsDiff, randomValues, referenceMatMul } from './reference.ts';

await tf.setBackend('cpu');
const stockCpuLosses = trainingLosses();
await tf.setBackend('wasm');
registerJsKernels('wasm');

test('stock wasm BatchMatMul gets an inner broadcast wrong (why the wrapper indexes batches itself)', () => {
  // Registered before the wrapper: this is TF.js's own kernel.
  const a = randomValues(2 * 3 * 4 * 5, 1), b = randomValues(2 * 5 * 6, 2);
  const out = tf.matMul(tf.tensor(a, [2, 3, 4, 5]), tf.tensor(b, [2, 1, 5, 6]));
  const err = maxAbsDiff(out.dataSync(), referenceMatMul(a, [2, 3, 4, 5], b, [2, 1, 5, 6]).values);
  assert.ok(err > 0.1, `stock wasm is right here now (error ${err}): transposing-matmul.ts need not index batches itself for correctness`);
  out.dispose();
});

test('npm-only path: BatchMatMul equals the float64 reference for every transpose and broadcast pattern', () => {
  registerTransposingMatMul();
  checkMatMulCases();
  checkEmptyProducts();
});

test('npm-only path: _FusedMatMul applies bias broadcasts and every activation', () => {
  checkFusedCases();
});

test('npm-only path: gradients equal those of the stock cpu kernels', async () => {
  await checkGradientsAgainstStockCpu('wasm');
});

test('npm-only path: five training steps give the losses of stock cpu, leaving no tensor behind', () => {
  const before = tf.memory().numTensors;
  const losses = trainingLosses();
  losses.forEach((l, i) => assert.ok(Math.abs(l - stockCpuLosses[i]) < 1e-4, `step ${i}: ${l} vs ${stockCpuLosses[i]}`));
  assert.equal(tf.memory().numTensors, before);
});
