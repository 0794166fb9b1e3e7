import test from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { autoBlasThreads, clampBlasThreads, computeOptionsFromEnv } from '../../src/compute/options.ts';
import { loadConfig } from '../../src/config.ts';

const cores = availableParallelism();

test('compute switches default to native kernels and every core for a one-thread process', () => {
  assert.deepEqual(computeOptionsFromEnv({}), { native: true, blasThreads: cores });
  assert.deepEqual(computeOptionsFromEnv({ GLMTUNE_BLAS_THREADS: 'auto' }), { native: true, blasThreads: cores });
  assert.deepEqual(computeOptionsFromEnv({ GLMTUNE_NATIVE: '0', GLMTUNE_BLAS_THREADS: '3' }), { native: false, blasThreads: 3 });
  assert.equal(computeOptionsFromEnv({ GLMTUNE_NATIVE: 'false' }).native, false);
  assert.equal(computeOptionsFromEnv({ GLMTUNE_NATIVE: 'TRUE' }).native, true);
});

test('a wrong switch value is an error that names the variable', () => {
  assert.throws(() => computeOptionsFromEnv({ GLMTUNE_NATIVE: 'maybe' }), /GLMTUNE_NATIVE must be 0, 1, true or false \(got "maybe"\)/);
  assert.throws(() => computeOptionsFromEnv({ GLMTUNE_BLAS_THREADS: '0' }), /GLMTUNE_BLAS_THREADS must be auto or a positive integer/);
  assert.throws(() => computeOptionsFromEnv({ GLMTUNE_BLAS_THREADS: '1.5' }), /GLMTUNE_BLAS_THREADS/);
});

test('BLAS threads are capped at the number of cores', () => {
  assert.equal(clampBlasThreads(1000), availableParallelism());
  assert.equal(clampBlasThreads(1), 1);
});

test('auto BLAS threads share the cores among the threads of the role that may multiply at once', () => {
  assert.equal(autoBlasThreads(1), cores);
  assert.equal(autoBlasThreads(cores + 1), 1, 'at least one');
  const threads = (env: NodeJS.ProcessEnv) => loadConfig(env).compute.blasThreads;
  assert.equal(threads({}), Math.max(1, Math.floor(cores / 2)), 'all: one trainer slot and one inference thread');
  assert.equal(threads({ ROLE: 'worker' }), cores, 'a worker with one slot has the machine to itself');
  assert.equal(threads({ ROLE: 'worker', TRAINER_CONCURRENCY: '2' }), Math.max(1, Math.floor(cores / 2)));
  assert.equal(threads({ ROLE: 'api', INFERENCE_CONCURRENCY: '4' }), Math.max(1, Math.floor(cores / 4)));
  assert.equal(threads({ GLMTUNE_BLAS_THREADS: '3' }), 3, 'a number is taken as it is');
  assert.throws(() => loadConfig({ GLMTUNE_BLAS_THREADS: 'many' }), /GLMTUNE_BLAS_THREADS: must be auto or a positive integer \(got "many"\)/);
});
