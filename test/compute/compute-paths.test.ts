// initCompute chooses the compute path once per process, so each path runs in a child process: the native
// one (OpenBLAS matmul and the fused kernels), the same machine with the native kernels switched off
// (GLMTUNE_NATIVE=0: plain TF.js ops), and a machine where the addon was never built. All must compute the
// same things — the losses of five training steps of glm-tiny within 1e-4 — and the message must say which
// path is active and, on the fallback, how to enable the fast one.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ENABLE_NATIVE_HINT } from '../../src/compute/native.ts';
import type { ComputeInfo } from '../../src/compute/backend.ts';

interface Probe {
  info: ComputeInfo;
  losses: number[];
  /** glm-tiny through runTraining, per method (compute-probe.ts, glm-training.ts). */
  glmLosses: Record<string, number[]>;
  dequantExact: boolean;
}

/** Every loss of `probe` within 1e-4 of the native path's. */
function assertSameLosses(probe: Probe, what: string): void {
  probe.losses.forEach((l, i) => assert.ok(Math.abs(l - nativePath.losses[i]) < 1e-4, `${what}, toy model step ${i}: ${l} vs ${nativePath.losses[i]}`));
  for (const [method, losses] of Object.entries(nativePath.glmLosses)) {
    assert.equal(probe.glmLosses[method].length, 5);
    losses.forEach((l, i) => assert.ok(Math.abs(probe.glmLosses[method][i] - l) < 1e-4, `${what}, glm-tiny ${method} step ${i}: ${probe.glmLosses[method][i]} vs ${l}`));
  }
}

function probe(env: Record<string, string>, hideNative = false): Probe {
  const path = (name: string): string => fileURLToPath(new URL(name, import.meta.url));
  const args = ['--import', 'tsx', ...(hideNative ? ['--require', path('hide-native.cjs')] : []), path('compute-probe.ts')];
  const run = spawnSync(process.execPath, args, { env: { ...process.env, ...env }, encoding: 'utf8' });
  assert.equal(run.status, 0, `probe failed:\n${run.stderr.slice(-3000)}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as Probe;
}

const nativePath = probe({ GLMTUNE_NATIVE: '1' });

test('with the addon built: wasm with OpenBLAS matmul, native dequantisation and the fused kernels', () => {
  assert.equal(nativePath.info.backend, 'wasm');
  assert.equal(nativePath.info.matmul, 'openblas');
  assert.equal(nativePath.info.dequant, 'native');
  assert.equal(nativePath.info.fused, true);
  assert.deepEqual(Object.keys(nativePath.glmLosses), ['full', 'lora']);
  for (const losses of Object.values(nativePath.glmLosses)) assert.ok(losses.length === 5 && losses.every(Number.isFinite) && losses[4] < losses[0], `${losses}`);
  assert.equal(nativePath.info.blas?.threads, 1);
  assert.match(nativePath.info.message, /OpenBLAS SGEMM \(glmtune-native: \w+ kernels, 1 thread\)/);
  assert.ok(nativePath.dequantExact);
});

test('GLMTUNE_NATIVE=0 forces the npm-only path (plain TF.js ops), which computes the same losses', () => {
  const off = probe({ GLMTUNE_NATIVE: '0' });
  assert.equal(off.info.matmul, 'xnnpack-transposing');
  assert.equal(off.info.dequant, 'js');
  assert.equal(off.info.fused, false);
  assert.match(off.info.message, /GLMTUNE_NATIVE=0/);
  assert.ok(off.dequantExact);
  assertSameLosses(off, 'GLMTUNE_NATIVE=0');
});

test('without the addon the service still computes, and its message tells how to enable the fast path', () => {
  const missing = probe({ GLMTUNE_NATIVE: '1' }, true);
  assert.equal(missing.info.backend, 'wasm');
  assert.equal(missing.info.matmul, 'xnnpack-transposing');
  assert.match(missing.info.nativeUnavailable ?? '', /not built/);
  assert.ok(missing.info.message.includes(ENABLE_NATIVE_HINT), missing.info.message);
  assert.ok(missing.dequantExact);
  assertSameLosses(missing, 'without the addon');
});

test('GLMTUNE_BLAS_THREADS sets the OpenBLAS thread count; a wrong value is refused by name', () => {
  const two = probe({ GLMTUNE_NATIVE: '1', GLMTUNE_BLAS_THREADS: '2' });
  assert.equal(two.info.blas?.threads, Math.min(2, availableParallelism())); // never more than the cores
  const path = fileURLToPath(new URL('compute-probe.ts', import.meta.url));
  const bad = spawnSync(process.execPath, ['--import', 'tsx', path], { env: { ...process.env, GLMTUNE_BLAS_THREADS: 'many' }, encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /GLMTUNE_BLAS_THREADS must be auto or a positive integer \(got "many"\)/);
});
