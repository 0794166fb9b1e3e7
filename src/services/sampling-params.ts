// OpenAI's sampling fields (shared by chat completions and completions) as the inference threads take
// them, with OpenAI's defaults: temperature 1, top_p 1, no penalties.
import { errors } from '../errors.ts';
import type { Sampling } from '../inference/protocol.ts';
import { hashString } from '../model/random.ts';

/** Most sequences one request may ask for (n, or prompts × n for completions). */
export const MAX_CHOICES = 16;
/** OpenAI accepts up to 4 stop sequences. */
export const MAX_STOP_SEQUENCES = 4;
export const MAX_STOP_LENGTH = 200;
export const MAX_LOGIT_BIAS = 300;

export interface SamplingRequest {
  temperature?: number | null;
  top_p?: number | null;
  n?: number | null;
  stop?: string | string[] | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  logit_bias?: Record<string, number> | null;
  seed?: number | null;
  top_k?: number | null;
  repetition_penalty?: number | null;
  ignore_eos?: boolean | null;
}

export function samplingOf(body: SamplingRequest, vocabSize: number): Sampling {
  const logitBias = Object.entries(body.logit_bias ?? {}).map(([key, bias]): [number, number] => {
    const id = Number(key);
    if (!Number.isSafeInteger(id) || id >= vocabSize) throw errors.invalid(`logit_bias: token id ${key} is not in this model's vocabulary (0 to ${vocabSize - 1}).`, `logit_bias.${key}`);
    return [id, bias];
  });
  return {
    temperature: body.temperature ?? 1,
    topP: body.top_p ?? 1,
    topK: Math.max(0, body.top_k ?? 0),
    repetitionPenalty: body.repetition_penalty ?? 1,
    presencePenalty: body.presence_penalty ?? 0,
    frequencyPenalty: body.frequency_penalty ?? 0,
    logitBias,
  };
}

/**
 * One seed per sequence. With a seed, the first sequence uses it as given (so n = 1 repeats exactly)
 * and the others derive theirs from it; without one, each draws a random seed.
 */
export function seedsFor(seed: number | null | undefined, count: number): number[] {
  return Array.from({ length: count }, (_, i) => {
    if (seed === null || seed === undefined) return Math.floor(Math.random() * 2 ** 32);
    return i === 0 ? seed >>> 0 : hashString(`${seed}:${i}`);
  });
}

export function stopStringsOf(stop: string | string[] | null | undefined): string[] {
  if (stop === null || stop === undefined) return [];
  return typeof stop === 'string' ? [stop] : stop;
}
