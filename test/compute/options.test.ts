import test from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { clampBlasThreads, computeOptionsFromEnv } from '../../src/compute/options.ts';

test('compute switches default to native kernels and one BLAS thread', () => {
  assert.deepEqual(computeOptionsFromEnv({}), { native: true, blasThreads: 1 });
  assert.deepEqual(computeOptionsFromEnv({ GLMTUNE_NATIVE: '0', GLMTUNE_BLAS_THREADS: '3' }), { native: false, blasThreads: 3 });
  assert.equal(computeOptionsFromEnv({ GLMTUNE_NATIVE: 'false' }).native, false);
  assert.equal(computeOptionsFromEnv({ GLMTUNE_NATIVE: 'TRUE' }).native, true);
});

test('a wrong switch value is an error that names the variable', () => {
  assert.throws(() => computeOptionsFromEnv({ GLMTUNE_NATIVE: 'maybe' }), /GLMTUNE_NATIVE must be 0, 1, true or false \(got "maybe"\)/);
  assert.throws(() => computeOptionsFromEnv({ GLMTUNE_BLAS_THREADS: '0' }), /GLMTUNE_BLAS_THREADS must be a positive integer/);
  assert.throws(() => computeOptionsFromEnv({ GLMTUNE_BLAS_THREADS: '1.5' }), /GLMTUNE_BLAS_THREADS/);
});

test('BLAS threads are capped at the number of cores', () => {
  assert.equal(clampBlasThreads(1000), availableParallelism());
  assert.equal(clampBlasThreads(1), 1);
});
