// Global-norm gradient clipping as torch.nn.utils.clip_grad_norm_: one L2 norm over every gradient,
// and every gradient scaled by min(1, max_norm / (norm + 1e-6)).
import * as tf from '@tensorflow/tfjs';
import { sumOfSquares } from '../../compute/ops/sum-squares.ts';

/** The L2 norm over all gradients together, read back as a number. */
export function globalNorm(grads: ReadonlyMap<string, tf.Tensor>): number {
  const norm = tf.tidy(() => tf.sqrt(tf.addN([...grads.values()].map(sumOfSquares))));
  const value = norm.dataSync()[0];
  norm.dispose();
  return value;
}

/** Scales the gradients in place (disposing the originals) when `norm` exceeds maxNorm; returns the factor. */
export function clipByGlobalNorm(grads: Map<string, tf.Tensor>, norm: number, maxNorm: number): number {
  const factor = Math.min(1, maxNorm / (norm + 1e-6));
  if (factor >= 1) return 1;
  for (const [name, g] of grads) {
    grads.set(name, tf.mul(g, factor));
    g.dispose();
  }
  return factor;
}
