// Run by worker-threads.test.ts inside a worker thread, as the trainer and inference pools run TF.js.
import { parentPort } from 'node:worker_threads';
import { initCompute } from '../../src/compute/backend.ts';
import { checkMatMulCases, trainingLosses } from './matmul-checks.ts';

const info = await initCompute('auto', { native: true, blasThreads: 1 });
checkMatMulCases(); // throws on a mismatch, which fails the worker
parentPort!.postMessage({ matmul: info.matmul, losses: trainingLosses() });
