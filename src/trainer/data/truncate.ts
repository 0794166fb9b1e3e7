// Fitting a training example into max_seq_len tokens. The policy keeps what the loss learns from:
//   - the example is split at the start of its final reply (the last assistant turn): context before,
//     reply from there on;
//   - a quarter of the window is kept for the context (or all of it, when shorter); the reply gets
//     the rest, and what of it does not fit is cut from the reply's end;
//   - the context fills what the reply leaves and is cut from the LEFT (the oldest turns go first,
//     the question right before the reply stays);
//   - an example left with no target token is dropped.
// Tokens are only removed, never altered, so input ids and labels stay aligned.
import { IGNORE_INDEX, type TrainingExample } from '../../model/chat-templates/types.ts';

export type Truncation = { kind: 'kept'; example: TrainingExample } | { kind: 'truncated'; example: TrainingExample } | { kind: 'dropped' };

/** Index of the first token of the last run of target labels; -1 when there is no target. */
export function finalReplyStart(labels: readonly number[]): number {
  let t = labels.length - 1;
  while (t >= 0 && labels[t] === IGNORE_INDEX) t--;
  if (t < 0) return -1;
  while (t > 0 && labels[t - 1] !== IGNORE_INDEX) t--;
  return t;
}

/**
 * Applies the policy. `replyStart` is where the final reply begins (finalReplyStart of the example's
 * labels without train_on_inputs, so that training on inputs truncates the same way).
 */
export function truncateExample(example: TrainingExample, maxLen: number, replyStart: number): Truncation {
  const { inputIds, labels } = example;
  if (replyStart < 0) return { kind: 'dropped' };
  if (inputIds.length <= maxLen) return hasPrediction(labels) ? { kind: 'kept', example } : { kind: 'dropped' };
  const contextLength = replyStart;
  const replyLength = inputIds.length - replyStart;
  const contextFloor = Math.min(contextLength, Math.floor(maxLen / 4));
  const replyKeep = Math.min(replyLength, maxLen - contextFloor);
  const contextKeep = Math.min(contextLength, maxLen - replyKeep);
  const from = replyStart - contextKeep;
  const to = replyStart + replyKeep;
  const cut = { inputIds: inputIds.slice(from, to), labels: labels.slice(from, to) };
  return hasPrediction(cut.labels) ? { kind: 'truncated', example: cut } : { kind: 'dropped' };
}

/** Whether some label is predicted: a target at t ≥ 1 (position 0 has no logits before it). */
function hasPrediction(labels: readonly number[]): boolean {
  for (let t = 1; t < labels.length; t++) if (labels[t] !== IGNORE_INDEX) return true;
  return false;
}
