// DequantNF4 / DequantInt8: the native kernels (registered for wasm here) against the JS ones (registered
// for cpu), both against the fixture and the format's own decoders; the typed API and resident sizes.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { dequantize, dequantNF4, disposeWeight, quantizeInt8Weight, quantizeNF4Weight, residentBytes } from '../../src/compute/dequant.ts';
import { registerDequantKernels } from '../../src/compute/dequant-kernels.ts';
import { ENABLE_NATIVE_HINT, loadNative } from '../../src/compute/native.ts';
import { quantizeNF4 } from '../../src/compute/quant/nf4.ts';
import { packNibbles } from '../../src/compute/quant/planes.ts';
import { randomValues } from './reference.ts';

const load = loadNative();
if (!load.kernels) throw new Error(`these tests need the native addon: ${load.reason}. ${ENABLE_NATIVE_HINT}`);
await tf.setBackend('wasm');
registerDequantKernels('wasm', load.kernels);
registerDequantKernels('cpu');

/** Runs `f` on wasm (native kernels) and on cpu (JS kernels) and returns both results. */
async function onBoth(f: () => tf.Tensor): Promise<{ native: Float32Array; js: Float32Array; shape: number[] }> {
  await tf.setBackend('wasm');
  const a = f();
  const native = a.dataSync() as Float32Array, shape = a.shape;
  a.dispose();
  await tf.setBackend('cpu');
  const b = f();
  const js = b.dataSync() as Float32Array;
  b.dispose();
  await tf.setBackend('wasm');
  return { native, js, shape };
}

const fixture = (JSON.parse(readFileSync('test/fixtures/glm/reference.json', 'utf8')) as {
  nf4: { input: number[]; dequantized: number[] };
}).nf4;

test('DequantNF4 reproduces the fixture\'s dequantized values exactly, natively and in JS', async () => {
  const { codes, absmax } = quantizeNF4(Float32Array.from(fixture.input));
  const r = await onBoth(() => dequantNF4(tf.tensor1d(packNibbles(codes), 'int32'), tf.tensor1d(absmax), [4, 64]));
  assert.deepEqual(r.shape, [4, 64]);
  assert.deepEqual(Array.from(r.native), fixture.dequantized.map(Math.fround));
  assert.deepEqual(Array.from(r.js), fixture.dequantized.map(Math.fround));
});

test('native and JS dequantisation agree bit for bit on odd sizes, with and without double quantisation', async () => {
  for (const [shape, doubleQuant] of [[[37, 29], false], [[300, 128], true], [[5], false], [[129, 1000], false]] as const) {
    const n = shape.reduce((p, q) => p * q, 1);
    const values = randomValues(n, n);
    const w = quantizeNF4Weight(values, [...shape], { doubleQuant });
    const r = await onBoth(() => dequantize(w));
    assert.deepEqual(r.shape, shape);
    assert.deepEqual(r.native, r.js, `NF4 [${shape}] doubleQuant=${doubleQuant}`);
    // and the values are NF4's: within half the widest codebook gap (0.15 · absmax) of the input
    const absmax = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (let i = 0; i < n; i++) assert.ok(Math.abs(r.native[i] - values[i]) <= 0.16 * absmax, `[${shape}] element ${i}`);
    disposeWeight(w);

    const q8 = quantizeInt8Weight(values, [...shape]);
    const r8 = await onBoth(() => dequantize(q8));
    assert.deepEqual(r8.native, r8.js, `int8 [${shape}]`);
    for (let i = 0; i < n; i++) assert.ok(Math.abs(r8.native[i] - values[i]) <= absmax / 254 + 1e-6, `int8 [${shape}] element ${i}`);
    disposeWeight(q8);
  }
});

test('resident bytes per weight: NF4 0.5625 (4.5 bits), with double quantisation ≈0.516, int8 ≈1.004', () => {
  const shape = [1024, 1024], n = 1024 * 1024, values = randomValues(n, 3);
  const nf4 = quantizeNF4Weight(values, shape), dq = quantizeNF4Weight(values, shape, { doubleQuant: true });
  const int8 = quantizeInt8Weight(values, shape);
  assert.equal(residentBytes(nf4) / n, 0.5625);
  assert.ok(Math.abs(residentBytes(dq) / n - 0.5159) < 1e-3, `${residentBytes(dq) / n}`);
  assert.ok(Math.abs(residentBytes(int8) / n - 1.0039) < 1e-3, `${residentBytes(int8) / n}`);
  [nf4, dq, int8].forEach(disposeWeight);
});

test('dequantisation leaves no tensor behind and refuses inputs too short for the shape', () => {
  const w = quantizeNF4Weight(randomValues(640, 1), [10, 64]);
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    dequantize(w).sum();
  });
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => dequantNF4(w.packed, w.absmax as tf.Tensor, [20, 64]), /packed must be a int32 tensor of at least 160 values/);
  disposeWeight(w);
});
