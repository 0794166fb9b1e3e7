// POST /v1/completions as a domain operation: each prompt (text, with the family's special tokens as
// vLLM adds them, or token ids as given) checked against the model, then one generation per prompt
// with n choices each. echo + logprobs scores the prompt; max_tokens 0 with echo scores only.
import { errors } from '../errors.ts';
import { VERBATIM } from '../inference/reply-format.ts';
import { textPromptIds } from '../inference/special-tokens.ts';
import type { Principal } from './auth.ts';
import type { Generation } from './generation.ts';
import type { InferenceService } from './inference.ts';
import { checkPromptCharacters, checkTokenIds, completionBudget } from './prompt-limits.ts';
import { MAX_CHOICES, type SamplingRequest, samplingOf, seedsFor, stopStringsOf } from './sampling-params.ts';

export interface CompletionRequest extends SamplingRequest {
  model: string;
  prompt: string | string[] | number[] | number[][];
  echo?: boolean | null;
  logprobs?: number | null;
  max_tokens?: number | null;
  best_of?: number | null;
  suffix?: string | null;
}

/** OpenAI's default for completions (chat completions default to the rest of the context). */
export const DEFAULT_COMPLETION_TOKENS = 16;

export interface CompletionPrompt {
  ids: number[];
  /** What echo shows: the text as given, or the decoded ids. */
  text: string;
}

export interface StartedCompletion {
  prompts: CompletionPrompt[];
  /** One per prompt, each with n choices (choice index = prompt index · n + its own index). */
  generations: Generation[];
  n: number;
  echo: boolean;
  /** Alternatives per token when logprobs were asked for, else null. */
  logprobs: number | null;
}

/** The prompts of a request: a string, token ids, or an array of either. */
function promptList(prompt: CompletionRequest['prompt']): (string | number[])[] {
  if (typeof prompt === 'string') return [prompt];
  if (prompt.every((p) => typeof p === 'number')) return [prompt as number[]];
  return prompt as (string | number[])[];
}

export class TextCompletionService {
  constructor(private readonly inference: InferenceService) {}

  async create(principal: Principal, body: CompletionRequest, signal?: AbortSignal): Promise<StartedCompletion> {
    const n = body.n ?? 1;
    if (body.best_of !== undefined && body.best_of !== null && body.best_of !== n) {
      throw errors.invalid('Only best_of equal to n is supported.', 'best_of', 'unsupported_value');
    }
    if (body.suffix) throw errors.invalid('suffix (insertion) is not supported by glmtune.', 'suffix', 'unsupported_parameter');
    const list = promptList(body.prompt);
    if (list.length * n > MAX_CHOICES) throw errors.invalid(`${list.length} prompts × n = ${n} is ${list.length * n} completions; at most ${MAX_CHOICES} per request.`, 'n');
    const served = await this.inference.model(principal.organizationId, body.model);
    const param = (i: number) => (list.length > 1 ? `prompt[${i}]` : 'prompt');
    checkPromptCharacters(
      list.reduce((sum, p) => sum + (typeof p === 'string' ? p.length : 0), 0),
      served.contextLength,
      'prompt',
    );
    const prompts = list.map((p, i): CompletionPrompt => {
      if (typeof p !== 'string') {
        checkTokenIds(p, served.vocabSize, (at) => `${param(i)}[${at}]`);
        return { ids: p, text: served.tokenizer.decode(p) };
      }
      const ids = textPromptIds(served.tokenizer, p);
      checkTokenIds(ids, served.vocabSize, () => param(i));
      return { ids, text: p };
    });
    const echo = body.echo === true;
    const requested = body.max_tokens ?? DEFAULT_COMPLETION_TOKENS;
    const maxTokens = prompts.map((p, i) => {
      if (p.ids.length === 0) throw errors.invalid('The prompt is empty.', param(i));
      return completionBudget(p.ids.length, requested, served.contextLength, param(i));
    });
    const logprobs = body.logprobs ?? null;
    const sampling = samplingOf(body, served.vocabSize);
    const stopIds = body.ignore_eos ? [] : [served.tokenizer.eosId];
    const generations: Generation[] = [];
    try {
      for (const [i, prompt] of prompts.entries()) {
        const seeds = seedsFor(body.seed === null || body.seed === undefined ? body.seed : body.seed + i * n, n);
        generations.push(
          await this.inference.generate(
            served,
            {
              promptIds: prompt.ids,
              maxTokens: maxTokens[i],
              seeds,
              sampling,
              stopIds,
              vocabSize: served.vocabSize,
              stopStrings: stopStringsOf(body.stop),
              logprobs,
              promptLogprobs: echo && logprobs !== null ? logprobs : null,
              format: VERBATIM,
            },
            signal,
          ),
        );
      }
    } catch (err) {
      for (const g of generations) g.abandon();
      throw err;
    }
    return { prompts, generations, n, echo, logprobs };
  }
}
