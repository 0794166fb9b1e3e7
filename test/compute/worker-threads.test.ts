// The service runs TF.js in worker threads: each initialises its own backend and loads the addon again.
// Two workers computing at once must both get the native path and the right numbers.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';

// A worker does not inherit the parent's tsx loader: the bootstrap registers it, then imports the probe.
const bootstrap = `import('tsx/esm/api').then(({ register }) => {
  register();
  return import(${JSON.stringify(new URL('./worker-probe.ts', import.meta.url).href)});
});`;

function runWorker(): Promise<{ matmul: string; losses: number[] }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(bootstrap, { eval: true });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
  });
}

test('two worker threads use the native kernels at the same time and agree', async () => {
  const [a, b] = await Promise.all([runWorker(), runWorker()]);
  assert.equal(a.matmul, 'openblas');
  assert.equal(b.matmul, 'openblas');
  assert.deepEqual(a.losses, b.losses);
});
