// The causal-LM loss (Hugging Face convention): logits at position t predict the label at t+1; labels
// of -100 are ignored; the result is the mean over every predicted token of the batch.
import type { Rows } from './attention-inputs.ts';
import { IGNORE_INDEX } from './chat-templates/types.ts';

/** Which rows of the flattened [B·T] logits predict something, and the target id of each. */
export function predictedPositions(labels: Rows, vocabSize: number): { rows: number[]; targets: number[] } {
  const rows: number[] = [];
  const targets: number[] = [];
  labels.forEach((row, b) => {
    for (let t = 0; t + 1 < row.length; t++) {
      const target = row[t + 1];
      if (target === IGNORE_INDEX) continue;
      if (!Number.isInteger(target) || target < 0 || target >= vocabSize) throw new Error(`label ${target} outside the vocabulary [0, ${vocabSize})`);
      rows.push(b * row.length + t);
      targets.push(target);
    }
  });
  return { rows, targets };
}

/** Mean cross-entropy of logits [M, V] against M target ids (fused on the native CPU path). */
export { meanCrossEntropy } from '../compute/ops/cross-entropy.ts';
