// Autoregressive generation for one prompt: a KV cache (or full recomputation), greedy or seeded
// sampling, penalties, stop ids and stop strings, log-probabilities, streaming and cancellation.
import type * as tf from '@tensorflow/tfjs';
import type { AdapterSet } from './extensions.ts';
import type { CausalLanguageModel } from './language-model.ts';
import { Rng } from './random.ts';
import { applyPenalties, chooseToken, logSoftmax, topEntries, type SamplingOptions } from './sampling.ts';

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  /** Ids that end generation (the stopping token is part of the output). Default: the config's eos ids. */
  stopIds?: readonly number[];
  /** Strings that end generation; needs `decode`. */
  stopStrings?: readonly string[];
  /** The tokenizer's decode, for stop strings and the result's text. */
  decode?: (ids: readonly number[]) => string;
  /** Ids at or past this are never chosen (the embedding is padded beyond the tokenizer). Default: the padded size. */
  vocabSize?: number;
  /** Seed of the sampling draws: the same seed and inputs give the same tokens. Random when omitted. */
  seed?: number;
  /** How many most likely alternatives to report per token (the chosen token's logprob is always reported). */
  topLogprobs?: number;
  /** Checked between tokens; generation ends with finishReason 'cancelled'. */
  signal?: AbortSignal;
  /** Decode with the KV cache (default) or recompute the whole sequence every step. */
  useCache?: boolean;
  adapters?: AdapterSet;
  /** P-tuning v2 prefix (see ForwardOptions.prefix). */
  prefix?: tf.Tensor;
}

export interface TokenLogprob {
  id: number;
  logprob: number;
}

export interface GeneratedToken {
  id: number;
  /** log p(token) under the model's distribution (log-softmax of the raw logits, before penalties and temperature). */
  logprob: number;
  /** The `topLogprobs` most likely tokens at this step, most likely first. */
  topLogprobs: TokenLogprob[];
}

export type FinishReason = 'stop' | 'length' | 'cancelled';

export interface GenerationResult {
  tokens: GeneratedToken[];
  finishReason: FinishReason;
  /** With `decode`: the output text, ending before a matched stop string or the stopping id. */
  text?: string;
  /** The stop string that ended generation, if one did. */
  stopString?: string;
}

function findStopString(text: string, stops: readonly string[]): { stop: string; at: number } | undefined {
  let found: { stop: string; at: number } | undefined;
  for (const stop of stops) {
    const at = text.indexOf(stop);
    if (at >= 0 && (!found || at < found.at)) found = { stop, at };
  }
  return found;
}

/**
 * Yields each token as soon as it is chosen and returns the result when generation ends. Yields to
 * the event loop between tokens, so an abort signalled by another event is seen at the next token.
 */
export async function* generateTokens(model: CausalLanguageModel, promptIds: readonly number[], options: GenerateOptions): AsyncGenerator<GeneratedToken, GenerationResult> {
  if (promptIds.length === 0) throw new Error('the prompt must hold at least one token');
  if (options.stopStrings?.length && !options.decode) throw new Error('stop strings need a decode function');
  const { config } = model;
  const vocabSize = Math.min(options.vocabSize ?? config.paddedVocabSize, config.paddedVocabSize);
  const stopIds = new Set(options.stopIds ?? config.eosTokenIds);
  const rng = new Rng(options.seed ?? Math.floor(Math.random() * 2 ** 32));
  const useCache = options.useCache ?? true;
  const cache = useCache ? model.createCache(1, options.prefix) : undefined;
  const sequence = [...promptIds];
  const tokens: GeneratedToken[] = [];
  const finish = (finishReason: FinishReason, stopString?: { stop: string; at: number }): GenerationResult => {
    const ids = tokens.map((t) => t.id);
    if (finishReason === 'stop' && !stopString) ids.pop(); // the stop id is not text
    const text = options.decode?.(ids);
    return { tokens, finishReason, ...(text !== undefined && { text: stopString ? text.slice(0, stopString.at) : text }), ...(stopString && { stopString: stopString.stop }) };
  };

  try {
    for (let step = 0; step < options.maxNewTokens; step++) {
      if (options.signal?.aborted) return finish('cancelled');
      if (sequence.length >= config.seqLength) return finish('length');
      const input = cache && step > 0 ? [sequence[sequence.length - 1]] : sequence;
      const { logits } = model.forward([input], { cache, prefix: cache ? undefined : options.prefix, adapters: options.adapters, lastPositionOnly: true });
      const row = logits.dataSync() as Float32Array; // [V] of the last position
      logits.dispose();

      const logprobs = logSoftmax(row, vocabSize);
      applyPenalties(row, options, sequence, tokens.map((t) => t.id));
      const id = chooseToken(row, vocabSize, options, rng);
      const topLogprobs = topEntries(logprobs, options.topLogprobs ?? 0).map((e) => ({ id: e.id, logprob: e.value }));
      const token = { id, logprob: logprobs[id], topLogprobs };
      tokens.push(token);
      sequence.push(id);
      yield token;

      if (stopIds.has(id)) return finish('stop');
      if (options.stopStrings?.length) {
        const found = findStopString(options.decode!(tokens.map((t) => t.id)), options.stopStrings);
        if (found) return finish('stop', found);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    return finish('length');
  } finally {
    cache?.dispose();
  }
}

/** Generates to the end; `onToken` sees each token as it is produced. */
export async function generate(model: CausalLanguageModel, promptIds: readonly number[], options: GenerateOptions & { onToken?: (token: GeneratedToken) => void }): Promise<GenerationResult> {
  const tokens = generateTokens(model, promptIds, options);
  for (;;) {
    const next = await tokens.next();
    if (next.done) return next.value;
    options.onToken?.(next.value);
  }
}
