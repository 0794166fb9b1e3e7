// Bounds checked before any tokenization or model work, so that a hostile or mistaken request costs
// nothing: prompt characters (tokenizing millions of characters would stall the event loop for
// seconds) and tokens within the model's context.
import { errors } from '../errors.ts';
import { inferenceErrors } from './inference-errors.ts';

/**
 * Characters a prompt may have per token of context. Real text runs 1–5 characters per token;
 * long whitespace or repeated runs can reach more, so the bound is generous and only stops abuse.
 */
export const CHARACTERS_PER_CONTEXT_TOKEN = 8;

export function checkPromptCharacters(characters: number, contextLength: number, param: string): void {
  const limit = contextLength * CHARACTERS_PER_CONTEXT_TOKEN;
  if (characters > limit) throw inferenceErrors.promptTooLong(characters, limit, contextLength, param);
}

/** Every id must have a row in the model's embedding (a tokenizer larger than its model is refused here). */
export function checkTokenIds(ids: readonly number[], vocabSize: number, param: (position: number) => string): void {
  const bad = ids.findIndex((id) => id >= vocabSize);
  if (bad >= 0) throw errors.invalid(`Token id ${ids[bad]} (position ${bad}) is not in this model's vocabulary (0 to ${vocabSize - 1}).`, param(bad));
}

/**
 * The new tokens a request gets: `requested`, or all the context leaves when undefined. Refused with
 * OpenAI's context_length_exceeded when prompt + completion do not fit (a completion needs ≥ 1 token
 * unless 0 was asked for).
 */
export function completionBudget(promptTokens: number, requested: number | undefined, contextLength: number, param: string): number {
  const wanted = requested ?? contextLength - promptTokens;
  if (promptTokens + Math.max(wanted, requested === 0 ? 0 : 1) > contextLength) {
    throw inferenceErrors.contextLengthExceeded(contextLength, promptTokens, Math.max(wanted, 1), param);
  }
  return wanted;
}
