// Replacing kernels in TF.js's registry, per backend, while keeping the kernels TF.js registered first:
// our kernels fall back to them (e.g. int32 matmul), and the bench switches between them and ours.
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig } from '@tensorflow/tfjs';

const stock = new Map<string, KernelConfig>();

/** The kernel as TF.js registered it, before any replacement of ours. Import the backend first. */
export function stockKernel(kernelName: string, backendName: string): KernelConfig {
  const key = `${backendName}/${kernelName}`;
  let config = stock.get(key);
  if (!config) {
    config = tf.getKernel(kernelName, backendName);
    if (!config) throw new Error(`TF.js has no ${kernelName} kernel for backend ${backendName}`);
    stock.set(key, config);
  }
  return config;
}

/** Registers `config`, replacing whatever is registered under its name and backend. */
export function replaceKernel(config: KernelConfig): void {
  if (tf.getKernel(config.kernelName, config.backendName)) tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
}
