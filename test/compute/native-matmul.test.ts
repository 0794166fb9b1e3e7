// The OpenBLAS kernels (glmtune-native) registered as BatchMatMul/_FusedMatMul, against float64 references
// and the stock cpu kernels. CI installs libopenblas-dev, so a missing addon fails here rather than skipping.
import test from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerJsKernels } from '../../src/compute/js-kernels.ts';
import { ENABLE_NATIVE_HINT, loadNative } from '../../src/compute/native.ts';
import { registerNativeMatMul } from '../../src/compute/native-matmul.ts';
import { checkEmptyProducts, checkFusedCases, checkGradientsAgainstStockCpu, checkMatMulCases, trainingLosses } from './matmul-checks.ts';

const load = loadNative();
if (!load.kernels) throw new Error(`these tests need the native addon: ${load.reason}. ${ENABLE_NATIVE_HINT}`);
const native = load.kernels;

await tf.setBackend('wasm');
registerJsKernels('wasm');
registerNativeMatMul('wasm', native);
const stockCpuLosses = await (async () => {
  await tf.setBackend('cpu');
  const losses = trainingLosses();
  await tf.setBackend('wasm');
  return losses;
})();

test('wasm + OpenBLAS: BatchMatMul equals the float64 reference for every transpose and broadcast pattern', () => {
  checkMatMulCases();
  checkEmptyProducts();
});

test('wasm + OpenBLAS: _FusedMatMul applies bias broadcasts and every activation', () => {
  checkFusedCases();
});

test('wasm + OpenBLAS: gradients equal those of the stock cpu kernels', async () => {
  await checkGradientsAgainstStockCpu('wasm');
});

test('wasm + OpenBLAS: five training steps give the losses of stock cpu', () => {
  const losses = trainingLosses();
  assert.ok(stockCpuLosses[4] < stockCpuLosses[0], `the model learns: ${stockCpuLosses}`);
  losses.forEach((l, i) => assert.ok(Math.abs(l - stockCpuLosses[i]) < 1e-4, `step ${i}: ${l} vs ${stockCpuLosses[i]}`));
});

test('wasm + OpenBLAS: kernels leave no tensor behind', () => {
  const before = tf.memory().numTensors;
  trainingLosses();
  checkMatMulCases();
  assert.equal(tf.memory().numTensors, before);
});

test('sgemm refuses arrays shorter than their shape and batch dims that do not broadcast', () => {
  const a = new Float32Array(6), b = new Float32Array(6), c = new Float32Array(4);
  assert.throws(() => native.sgemm(a, b, c, [], [], 3, 2, 3, false, false, null), /shorter than its shape/);
  assert.throws(() => native.sgemm(a, b, c, [2], [3], 1, 1, 1, false, false, null), /do not broadcast/);
  assert.throws(() => native.sgemm(a, b, c, [], [], 2, 2, 3, false, false, new Float32Array(3)), /bias must have n values/);
  assert.throws(() => native.sgemm(a, b, new Int32Array(4) as unknown as Float32Array, [], [], 2, 2, 3, false, false, null), /Float32Array/);
});

test('cpu + OpenBLAS: same results; int32 products still go to the stock kernel', async () => {
  await tf.setBackend('cpu');
  registerNativeMatMul('cpu', native);
  checkMatMulCases();
  checkFusedCases();
  const ints = tf.matMul(tf.tensor2d([[1, 2], [3, 4]], [2, 2], 'int32'), tf.tensor2d([[5], [6]], [2, 1], 'int32'));
  assert.equal(ints.dtype, 'int32');
  assert.deepEqual(Array.from(ints.dataSync()), [17, 39]);
});
