// Sentence BLEU-4 as NLTK computes it (nltk.translate.bleu_score.sentence_bleu, uniform weights) with
// SmoothingFunction().method3, over characters, as THUDM's ChatGLM ptuning/main.py and LLaMA-Factory
// score generations: sentence_bleu([list(label)], list(pred), smoothing_function=method3).
//   p_n = clipped n-gram matches / max(1, hypothesis n-grams), kept unreduced (Fraction(_normalize=False))
//   method3 (NIST geometric smoothing): the k-th p_n with no match becomes 1 / (2^k · its denominator)
//   BLEU = BP · exp(Σ ¼·log p_n), BP = 1 if c > r else exp(1 − r/c) (0 for an empty hypothesis)
// With no matching unigram at all NLTK returns 0 before smoothing.

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join('\u0000');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** BLEU-4 of a tokenized hypothesis against one tokenized reference, in [0, 1]. */
export function sentenceBleu4(reference: readonly string[], hypothesis: readonly string[]): number {
  const precisions: Array<{ numerator: number; denominator: number }> = [];
  for (let n = 1; n <= 4; n++) {
    const hyp = ngramCounts(hypothesis, n);
    const ref = ngramCounts(reference, n);
    let numerator = 0;
    let total = 0;
    for (const [gram, count] of hyp) {
      numerator += Math.min(count, ref.get(gram) ?? 0);
      total += count;
    }
    precisions.push({ numerator, denominator: Math.max(1, total) });
  }
  if (precisions[0].numerator === 0) return 0;
  let smoothing = 1;
  let logSum = 0;
  for (const { numerator, denominator } of precisions) {
    const p = numerator === 0 ? 1 / (2 ** smoothing++ * denominator) : numerator / denominator;
    logSum += 0.25 * Math.log(p);
  }
  const c = hypothesis.length;
  const r = reference.length;
  const brevity = c > r ? 1 : Math.exp(1 - r / c);
  return brevity * Math.exp(logSum);
}

/** BLEU-4 × 100 on characters (Unicode code points, like Python's list(str)). */
export function characterBleu4(reference: string, hypothesis: string): number {
  return 100 * sentenceBleu4(Array.from(reference), Array.from(hypothesis));
}
