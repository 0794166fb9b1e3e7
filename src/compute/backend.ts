// Chooses and initialises the TF.js backend for this thread. Only worker threads (and tests / CLIs)
// call this: the HTTP main thread never imports TF.js.
import * as tf from '@tensorflow/tfjs';
import { registerJsKernels } from './js-kernels.ts';

export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

export interface ComputeInfo {
  /** TF.js backend name as tf.getBackend() reports it. */
  backend: string;
  /** Which matrix-multiply implementation the backend uses. */
  matmul: string;
  /** One line for the start-up log: what is active and, where relevant, how to get something faster. */
  message: string;
}

let active: ComputeInfo | undefined;

/** Loads an optional package by name; undefined when it is not installed or fails to load. */
async function tryImport(name: string): Promise<unknown> {
  try {
    return await import(name);
  } catch {
    return undefined;
  }
}

async function useTensorflow(): Promise<ComputeInfo | undefined> {
  // tfjs-node(-gpu) downloads libtensorflow at install time, so it is optional: present in the GPU image only.
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    if ((await tryImport(pkg)) && (await tf.setBackend('tensorflow'))) {
      return { backend: 'tensorflow', matmul: 'tensorflow', message: `compute: ${pkg} (libtensorflow)` };
    }
  }
  return undefined;
}

async function useWasm(): Promise<ComputeInfo | undefined> {
  await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) return undefined;
  registerJsKernels('wasm');
  return { backend: 'wasm', matmul: 'xnnpack', message: 'compute: tfjs wasm backend (XNNPACK matmul)' };
}

async function useCpu(): Promise<ComputeInfo> {
  await tf.setBackend('cpu');
  registerJsKernels('cpu');
  return { backend: 'cpu', matmul: 'js', message: 'compute: tfjs cpu backend (pure JavaScript, slow)' };
}

/** Initialises the backend once per thread; later calls return the same result. */
export async function initCompute(choice: BackendChoice = 'auto'): Promise<ComputeInfo> {
  if (active) return active;
  let info: ComputeInfo | undefined;
  if (choice === 'tensorflow') {
    info = await useTensorflow();
    if (!info) throw new Error('TF_BACKEND=tensorflow but neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node could be loaded');
  } else if (choice === 'wasm') {
    info = await useWasm();
    if (!info) throw new Error('TF_BACKEND=wasm but the wasm backend failed to initialise');
  } else if (choice === 'cpu') {
    info = await useCpu();
  } else {
    info = (await useTensorflow()) ?? (await useWasm()) ?? (await useCpu());
  }
  await tf.ready();
  active = info;
  return info;
}

export function computeInfo(): ComputeInfo | undefined {
  return active;
}
