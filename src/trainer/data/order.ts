// Seeded orders: the per-epoch shuffle and the validation split. Every order is a pure function of
// (seed, purpose), so a run resumed at any step sees the same data as one that never stopped, with no
// generator state to save.
import { Rng, hashString } from '../../model/random.ts';

/** A permutation of 0..count-1 (Fisher–Yates) drawn from the seed and a purpose string. */
export function permutation(count: number, seed: number, purpose: string): number[] {
  const rng = new Rng((seed ^ hashString(purpose)) >>> 0);
  const order = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** The order in which an epoch visits the training examples. */
export function epochOrder(count: number, seed: number, epoch: number): number[] {
  return permutation(count, seed, `epoch:${epoch}`);
}

/**
 * Holds out round(fraction × n) examples (at least one when fraction > 0) for validation, chosen by
 * the seed; both parts keep file order. The training part keeps at least one example.
 */
export function splitValidation<T>(examples: readonly T[], fraction: number, seed: number): { train: T[]; validation: T[] } {
  if (fraction <= 0 || examples.length < 2) return { train: [...examples], validation: [] };
  const held = Math.min(examples.length - 1, Math.max(1, Math.round(fraction * examples.length)));
  const chosen = new Set(permutation(examples.length, seed, 'validation-split').slice(0, held));
  return {
    train: examples.filter((_, i) => !chosen.has(i)),
    validation: examples.filter((_, i) => chosen.has(i)),
  };
}
