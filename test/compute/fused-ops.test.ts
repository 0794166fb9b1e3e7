// Each fused kernel (src/compute/fused-kernels.ts, native/kernels/src/fused.cc) against the plain TF.js ops it
// replaces (src/compute/ops/*Composite): values and the gradient of a weighted sum of the outputs with respect
// to every differentiable input, on the wasm backend with the native kernels registered.
import test from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initCompute } from '../../src/compute/backend.ts';
import { loadNative } from '../../src/compute/native.ts';
import { FUSED, fusedKernelActive, maskSharing } from '../../src/compute/fused-kernels.ts';
import { adamwUpdate, adamwUpdateComposite } from '../../src/compute/ops/adamw-update.ts';
import { maskedSoftmax, maskedSoftmaxComposite } from '../../src/compute/ops/attention-softmax.ts';
import { meanCrossEntropy, meanCrossEntropyComposite } from '../../src/compute/ops/cross-entropy.ts';
import { rmsNorm, rmsNormComposite } from '../../src/compute/ops/rms-norm.ts';
import { rotarySplit, rotarySplitComposite, type AttentionLayout, type RotaryTables } from '../../src/compute/ops/rotary-split.ts';
import { sumOfSquares } from '../../src/compute/ops/sum-squares.ts';
import { swiglu, swigluComposite } from '../../src/compute/ops/swiglu.ts';
import { additiveMask, rotaryPairMatrix, rotaryTables } from '../../src/model/attention-inputs.ts';
import { randomValues } from './reference.ts';

const info = await initCompute('wasm', { native: true, blasThreads: 1 });

const random = (shape: number[], seed: number, scale = 1): tf.Tensor => tf.tensor(randomValues(shape.reduce((a, b) => a * b, 1), seed).map((v) => v * scale), shape);

function assertClose(actual: tf.Tensor, expected: tf.Tensor, tolerance: number, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = actual.dataSync(), e = expected.dataSync();
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - e[i]) / (1 + Math.abs(e[i])));
  assert.ok(worst <= tolerance, `${what}: max relative difference ${worst} > ${tolerance}`);
}

/**
 * Compares fused(...inputs) with composite(...inputs): every output, and the gradients of Σ outputᵢ·wᵢ (fixed
 * random weights wᵢ, so that every output element gets its own upstream gradient) with respect to each input.
 */
function compare(what: string, inputs: tf.Tensor[], fused: (...xs: tf.Tensor[]) => tf.Tensor[], composite: (...xs: tf.Tensor[]) => tf.Tensor[], tolerance = 1e-5): void {
  tf.tidy(() => {
    const f = fused(...inputs), c = composite(...inputs);
    assert.equal(f.length, c.length);
    f.forEach((t, i) => assertClose(t, c[i], tolerance, `${what} output ${i}`));
    const weights = c.map((t, i) => random(t.shape, 100 + i));
    const objective = (run: (...xs: tf.Tensor[]) => tf.Tensor[]) => (...xs: tf.Tensor[]) =>
      tf.addN(run(...xs).map((t, i) => tf.sum(tf.mul(t, weights[i])))) as tf.Scalar;
    const gf = tf.grads(objective(fused))(inputs), gc = tf.grads(objective(composite))(inputs);
    gf.forEach((g, i) => assertClose(g, gc[i], tolerance, `${what} gradient ${i}`));
  });
}

test('the native path registers the fused kernels', () => {
  assert.equal(info.fused, true);
  for (const name of Object.values(FUSED)) assert.ok(fusedKernelActive(name), name);
});

test('RMSNorm: values, dx and dweight', () => {
  const x = random([37, 24], 1), w = random([24], 2);
  compare('rmsNorm', [x, w], (a, b) => [rmsNorm(a as tf.Tensor2D, b as tf.Tensor1D, 1e-5)], (a, b) => [rmsNormComposite(a as tf.Tensor2D, b as tf.Tensor1D, 1e-5)]);
});

test('SwiGLU: values and gradient, with large |a| (sigmoid saturating)', () => {
  const u = random([19, 2 * 33], 3, 6);
  compare('swiglu', [u], (a) => [swiglu(a as tf.Tensor2D)], (a) => [swigluComposite(a as tf.Tensor2D)]);
});

test('rotary + qkv split: queries, keys, values and the gradient into qkv, for several batches, positions and scales', () => {
  for (const [B, T, H, g, d] of [[2, 5, 4, 2, 8], [1, 1, 6, 3, 4], [3, 4, 2, 1, 16]]) {
    const positions = Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => 3 * b + t));
    const t = rotaryTables(positions, d, 10000);
    const tables: RotaryTables = { cos: tf.tensor2d(t.cos, [B * T, d]), sin: tf.tensor2d(t.sin, [B * T, d]), pair: tf.tensor2d(rotaryPairMatrix(d), [d, d]) };
    const layout: AttentionLayout = { batch: B, seq: T, heads: H, groups: g, headDim: d };
    const qkv = random([B * T, (H + 2 * g) * d], 4 + T);
    const outputs = (r: ReturnType<typeof rotarySplit>): tf.Tensor[] => [r.queries, r.keys, r.values];
    compare(`rotarySplit ${[B, T, H, g, d]}`, [qkv], (x) => outputs(rotarySplit(x as tf.Tensor2D, tables, layout, 0.25)), (x) => outputs(rotarySplitComposite(x as tf.Tensor2D, tables, layout, 0.25)));
    tf.dispose([tables.cos, tables.sin, tables.pair, qkv]);
  }
});

test('masked softmax: causal, padded per row, and unmasked scores', () => {
  const [B, g, perGroup, T] = [2, 2, 3, 5];
  const causal = additiveMask([[], []], [[1, 1, 1, 1, 1], [1, 1, 1, 1, 1]], perGroup)!;
  const padded = additiveMask([[1, 1], [0, 1]], [[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]], perGroup)!;
  assert.deepEqual(causal.shape, [1, 1, perGroup * T, T]);
  assert.deepEqual(padded.shape, [B, 1, perGroup * T, T + 2]);
  const cases: [string, number, tf.Tensor4D | null][] = [
    ['causal', T, tf.tensor4d(causal.values, causal.shape)],
    ['padded', T + 2, tf.tensor4d(padded.values, padded.shape)],
    ['none', T, null],
  ];
  for (const [name, K, mask] of cases) {
    const scores = random([B, g, perGroup * T, K], 5, 3);
    compare(`softmax ${name}`, [scores], (s) => [maskedSoftmax(s as tf.Tensor4D, mask)], (s) => [maskedSoftmaxComposite(s as tf.Tensor4D, mask)]);
  }
  assert.equal(maskSharing([2, 2, 15, 5], [1, 1, 15, 5]), 4);
  assert.equal(maskSharing([2, 2, 15, 5], [2, 1, 15, 5]), 2);
  assert.equal(maskSharing([2, 2, 15, 5], [1, 2, 15, 5]), undefined); // broadcast that the kernel does not read: plain ops
});

test('cross-entropy: mean loss and gradient over a vocabulary, large logits included', () => {
  const logits = random([23, 300], 6, 8);
  const targets = Array.from({ length: 23 }, (_, i) => (i * 37) % 300);
  compare('crossEntropy', [logits], (x) => [meanCrossEntropy(x as tf.Tensor2D, targets)], (x) => [meanCrossEntropyComposite(x as tf.Tensor2D, targets)]);
});

test('AdamW update: parameter and both moments, with and without weight decay; in place only where nothing else holds the data', () => {
  const [p, m, v, g] = [random([1000], 7), random([1000], 8, 0.1), tf.abs(random([1000], 9, 0.01)), random([1000], 10)];
  for (const decay of [1, 0.999]) {
    const step = { beta1: 0.9, beta2: 0.999, eps: 1e-8, stepSize: 1e-3 / (1 - 0.9 ** 3), correction2Sqrt: Math.sqrt(1 - 0.999 ** 3), decay };
    const composite = adamwUpdateComposite(p, m, v, g, step);
    // held only here: updated in place, and returned sharing the memory
    const own = [p, m, v].map((t) => tf.add(t, 0));
    const inPlace = adamwUpdate(own[0], own[1], own[2], g, step);
    inPlace.forEach((t, i) => assert.equal(t.dataId, own[i].dataId, `output ${i} in place`));
    // shared with another tensor (a clone): new buffers, the shared data untouched
    const shared = [p, m, v].map((t) => tf.clone(t));
    const before = shared.map((t) => t.dataSync().slice());
    const copied = adamwUpdate(p, m, v, g, step);
    copied.forEach((t, i) => assert.notEqual(t.dataId, shared[i].dataId, `output ${i} copied`));
    shared.forEach((t, i) => assert.deepEqual(t.dataSync(), before[i]));
    for (const fused of [inPlace, copied]) fused.forEach((t, i) => assertClose(t, composite[i], 1e-6, `adamw ${decay} output ${i}`));
    tf.dispose([...composite, ...own, ...inPlace, ...shared, ...copied]);
  }
});

test('sum of squares: float64 accumulation, equal to the plain ops', () => {
  const x = random([100_003], 11);
  assertClose(sumOfSquares(x), tf.sum(tf.square(x)), 1e-5, 'sumOfSquares');
  assert.equal(sumOfSquares(tf.tensor1d([3, 4])).dataSync()[0], 25);
});

test('the addon checks every size against its array before a fused kernel runs', () => {
  const native = loadNative().kernels!;
  const f = (n: number): Float32Array => new Float32Array(n);
  assert.throws(() => native.rmsNorm(f(11), f(4), f(12), f(3), 3, 4, 1e-5), /rmsNorm: x has 11 values, needs 12/);
  assert.throws(() => native.swigluGrad(f(6), f(12), f(11), 2, 3), /swigluGrad: du has 11 values, needs 12/);
  assert.throws(() => native.rotarySplit(f(2 * 8 * 4), f(8), f(8), f(16), f(8), f(8), 1, 2, 2, 1, 3, 1), /d must be even/);
  assert.throws(() => native.softmax(f(24), f(12), f(24), 4, 3, 2, 3), /maskMatrices must divide matrices/);
  assert.throws(() => native.softmaxCrossEntropy(f(6), new Float32Array(2) as unknown as Int32Array, f(2), f(2), 2, 3), /targets must be a Int32Array/);
  assert.throws(() => native.adamw(f(4), f(4), f(3), f(4), f(4), f(4), f(4), 0.9, 0.999, 1e-8, 1e-3, 1, 1), /adamw: v has 3 values, needs 4/);
  assert.throws(() => (native.sumSquares as (...args: unknown[]) => number)(f(3), 1), /sumSquares takes 1 arguments/);
});
