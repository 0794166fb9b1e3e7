// Choosing the next token from one row of logits, on the host: penalties, then greedy or sampling
// with temperature, top-k and top-p (in Hugging Face's order), plus log-probabilities to report.
import type { Rng } from './random.ts';

export interface SamplingOptions {
  /** 0 (the default) is greedy; otherwise logits are divided by it before sampling. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 or undefined: all). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1 or undefined: all). */
  topP?: number;
  /** HF / CTRL: logits of tokens already in the prompt or output are divided by it (multiplied when negative). */
  repetitionPenalty?: number;
  /** OpenAI: subtracted once from the logit of every token already generated. */
  presencePenalty?: number;
  /** OpenAI: subtracted per occurrence of the token in the generated text. */
  frequencyPenalty?: number;
}

/** Applies the penalties in place. `context` is prompt + generated ids, `generated` the output so far. */
export function applyPenalties(logits: Float32Array, options: SamplingOptions, context: readonly number[], generated: readonly number[]): void {
  const repetition = options.repetitionPenalty ?? 1;
  if (repetition !== 1) {
    for (const id of new Set(context)) logits[id] = logits[id] < 0 ? logits[id] * repetition : logits[id] / repetition;
  }
  const presence = options.presencePenalty ?? 0;
  const frequency = options.frequencyPenalty ?? 0;
  if (presence !== 0 || frequency !== 0) {
    const counts = new Map<number, number>();
    for (const id of generated) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const [id, count] of counts) logits[id] -= presence + frequency * count;
  }
}

/** Index of the largest of the first `n` values (the first one on ties). */
export function argmax(values: ArrayLike<number>, n = values.length): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** log-softmax over the first `n` values, in float64. */
export function logSoftmax(logits: ArrayLike<number>, n = logits.length): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[i]);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(logits[i] - max);
  const logZ = max + Math.log(sum);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = logits[i] - logZ;
  return out;
}

/** The k largest entries, largest first (ties: lower id first). */
export function topEntries(values: ArrayLike<number>, k: number): { id: number; value: number }[] {
  if (k <= 0) return [];
  if (k > 32) {
    const ids = Array.from({ length: values.length }, (_, i) => i);
    ids.sort((a, b) => values[b] - values[a] || a - b);
    return ids.slice(0, k).map((id) => ({ id, value: values[id] }));
  }
  // Small k (top logprobs, small top-k): one pass keeping a sorted list, no sort of the vocabulary.
  const best: { id: number; value: number }[] = [];
  for (let id = 0; id < values.length; id++) {
    const value = values[id];
    if (best.length === k && !(value > best[k - 1].value)) continue;
    let at = best.length;
    while (at > 0 && best[at - 1].value < value) at--;
    best.splice(at, 0, { id, value });
    if (best.length > k) best.pop();
  }
  return best;
}

/**
 * Picks a token among the first `n` logits (ids past the tokenizer's vocabulary are never chosen).
 * Greedy unless temperature > 0; then temperature, top-k, top-p and a draw from `rng`.
 */
export function chooseToken(logits: ArrayLike<number>, n: number, options: SamplingOptions, rng: Rng): number {
  const temperature = options.temperature ?? 0;
  if (temperature === 0) return argmax(logits, n);
  const scaled = new Float64Array(n);
  for (let i = 0; i < n; i++) scaled[i] = logits[i] / temperature;
  const logp = logSoftmax(scaled);
  const topK = options.topK && options.topK > 0 ? Math.min(options.topK, n) : n;
  const ranked = topEntries(logp, topK);
  const topP = options.topP ?? 1;
  let kept = ranked.length;
  if (topP < 1) {
    let mass = 0;
    for (kept = 0; kept < ranked.length && mass < topP; kept++) mass += Math.exp(ranked[kept].value);
    kept = Math.max(kept, 1);
  }
  const candidates = ranked.slice(0, kept);
  const weights = candidates.map((c) => Math.exp(c.value));
  let r = rng.next() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < candidates.length; i++) {
    r -= weights[i];
    if (r < 0) return candidates[i].id;
  }
  return candidates[candidates.length - 1].id; // r landed on the total through rounding
}
