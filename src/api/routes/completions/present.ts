// Completions in OpenAI's shape (the streamed chunks share it): one choice per prompt and n, the
// prompt echoed first when asked (with its tokens' logprobs), and the legacy logprobs object (tokens,
// token_logprobs, top_logprobs as token → logprob, text_offset).
import type { z } from 'zod';
import type { GenerationEvent, TokenScore } from '../../../services/generation.ts';
import type { StartedCompletion } from '../../../services/text-completions.ts';
import type { Completion } from '../../schemas/completions.ts';
import type { ResponseMeta } from '../chat/present.ts';

type CompletionObject = z.infer<typeof Completion>;
type Choice = CompletionObject['choices'][number];
type Logprobs = NonNullable<Choice['logprobs']>;

/**
 * Legacy logprobs of these tokens. text_offset counts the characters of the token strings before each
 * one (prompt tokens first when echoed), as vLLM counts them.
 */
function legacyLogprobs(tokens: readonly TokenScore[], offset: number): Logprobs {
  const out: Logprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  for (const t of tokens) {
    out.tokens.push(t.token);
    out.token_logprobs.push(t.logprob);
    out.top_logprobs.push(t.logprob === null ? null : Object.fromEntries([...t.top].reverse().map((a) => [a.token, a.logprob]))); // most likely wins a shared string
    out.text_offset.push(offset);
    offset += t.token.length;
  }
  return out;
}

/** The events of every prompt's generation as they come, tagged with the prompt's position. */
async function* interleaved(started: StartedCompletion): AsyncGenerator<{ prompt: number; event: GenerationEvent }> {
  const iterators = started.generations.map((g) => g[Symbol.asyncIterator]());
  const next = (prompt: number) => iterators[prompt].next().then((result) => ({ prompt, result }));
  const pending = new Map(iterators.map((_, prompt) => [prompt, next(prompt)]));
  while (pending.size > 0) {
    const { prompt, result } = await Promise.race(pending.values());
    if (result.done) {
      pending.delete(prompt);
      continue;
    }
    pending.set(prompt, next(prompt));
    yield { prompt, event: result.value };
  }
}

function usage(started: StartedCompletion) {
  const prompt = started.generations.reduce((sum, g) => sum + g.promptTokens, 0);
  const completion = started.generations.reduce((sum, g) => sum + g.completionTokens, 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** Per prompt: what its choices echo (the prompt text, and its scored tokens when logprobs were asked for). */
function echoes(started: StartedCompletion, promptScores: (TokenScore[] | undefined)[]) {
  return (prompt: number) => {
    const text = started.echo ? started.prompts[prompt].text : '';
    const scores = started.echo && started.logprobs !== null ? (promptScores[prompt] ?? []) : [];
    return { text, scores };
  };
}

export async function completion(started: StartedCompletion, meta: ResponseMeta): Promise<CompletionObject> {
  const { n } = started;
  const promptScores: (TokenScore[] | undefined)[] = [];
  const tokens: TokenScore[][] = Array.from({ length: started.prompts.length * n }, () => []);
  const finish: ('stop' | 'length')[] = new Array(started.prompts.length * n).fill('length');
  for await (const { prompt, event } of interleaved(started)) {
    if (event.type === 'prompt') promptScores[prompt] = event.tokens;
    else if (event.type === 'text') tokens[prompt * n + event.index].push(...event.tokens);
    else finish[prompt * n + event.index] = event.reason;
  }
  const echo = echoes(started, promptScores);
  const choices = finish.map((reason, index): Choice => {
    const prompt = Math.floor(index / n);
    const { text, scores } = echo(prompt);
    const generated = started.generations[prompt].text(index % n);
    let logprobs: Logprobs | null = null;
    if (started.logprobs !== null) {
      const head = legacyLogprobs(scores, 0);
      const tail = legacyLogprobs(tokens[index], scores.reduce((sum, t) => sum + t.token.length, 0));
      logprobs = {
        tokens: [...head.tokens, ...tail.tokens],
        token_logprobs: [...head.token_logprobs, ...tail.token_logprobs],
        top_logprobs: [...head.top_logprobs, ...tail.top_logprobs],
        text_offset: [...head.text_offset, ...tail.text_offset],
      };
    }
    return { index, text: text + generated, logprobs, finish_reason: reason };
  });
  return { id: meta.id, object: 'text_completion', created: meta.created, model: meta.model, choices, usage: usage(started) };
}

export async function* completionChunks(started: StartedCompletion, meta: ResponseMeta, includeUsage: boolean): AsyncGenerator<CompletionObject> {
  const { n } = started;
  const base = { id: meta.id, object: 'text_completion' as const, created: meta.created, model: meta.model, ...(includeUsage && { usage: null }) };
  const chunk = (choice: Choice): CompletionObject => ({ ...base, choices: [choice] });
  const offsets = new Array<number>(started.prompts.length * n).fill(0);
  const echoScores = started.echo && started.logprobs !== null;
  for (const [prompt, p] of started.prompts.entries()) {
    if (!started.echo || echoScores) continue; // with scores, the echo goes out with them
    for (let j = 0; j < n; j++) yield chunk({ index: prompt * n + j, text: p.text, logprobs: null, finish_reason: null });
  }
  for await (const { prompt, event } of interleaved(started)) {
    if (event.type === 'prompt') {
      if (!echoScores) continue;
      for (let j = 0; j < n; j++) {
        offsets[prompt * n + j] = event.tokens.reduce((sum, t) => sum + t.token.length, 0);
        yield chunk({ index: prompt * n + j, text: started.prompts[prompt].text, logprobs: legacyLogprobs(event.tokens, 0), finish_reason: null });
      }
    } else if (event.type === 'text') {
      const index = prompt * n + event.index;
      const logprobs = started.logprobs !== null ? legacyLogprobs(event.tokens, offsets[index]) : null;
      offsets[index] += event.tokens.reduce((sum, t) => sum + t.token.length, 0);
      yield chunk({ index, text: event.text, logprobs, finish_reason: null });
    } else {
      yield chunk({ index: prompt * n + event.index, text: '', logprobs: null, finish_reason: event.reason });
    }
  }
  if (includeUsage) yield { ...base, choices: [], usage: usage(started) };
}
