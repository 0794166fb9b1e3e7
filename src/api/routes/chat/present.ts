// Chat completions in OpenAI's shapes: the whole response, or the stream of chunks (a role chunk,
// content deltas with their logprobs, a finish chunk per choice, and with include_usage a last chunk
// with the usage and no choices).
import type { z } from 'zod';
import type { StartedChat } from '../../../services/chat-completions.ts';
import type { TokenScore } from '../../../services/generation.ts';
import type { ChatCompletion, ChatCompletionChunk, ChatTokenLogprob } from '../../schemas/chat.ts';

export interface ResponseMeta {
  id: string;
  created: number;
  model: string;
}

type Logprob = z.infer<typeof ChatTokenLogprob>;
type Chunk = z.infer<typeof ChatCompletionChunk>;

const bytes = (token: string) => [...Buffer.from(token, 'utf8')];

export function tokenLogprob(t: TokenScore): Logprob {
  return {
    token: t.token,
    logprob: t.logprob ?? 0,
    bytes: bytes(t.token),
    top_logprobs: t.top.map((a) => ({ token: a.token, logprob: a.logprob, bytes: bytes(a.token) })),
  };
}

function usage(started: StartedChat) {
  const { generation } = started;
  return { prompt_tokens: generation.promptTokens, completion_tokens: generation.completionTokens, total_tokens: generation.promptTokens + generation.completionTokens };
}

export async function chatCompletion(started: StartedChat, meta: ResponseMeta): Promise<z.infer<typeof ChatCompletion>> {
  const n = started.generation.choiceCount;
  const finish = new Array<'stop' | 'length'>(n).fill('length');
  const logprobs: Logprob[][] = Array.from({ length: n }, () => []);
  for await (const event of started.generation) {
    if (event.type === 'finish') finish[event.index] = event.reason;
    else if (event.type === 'text') logprobs[event.index].push(...event.tokens.map(tokenLogprob));
  }
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: finish.map((reason, index) => ({
      index,
      message: { role: 'assistant' as const, content: started.generation.text(index), refusal: null },
      logprobs: started.logprobs ? { content: logprobs[index], refusal: null } : null,
      finish_reason: reason,
    })),
    usage: usage(started),
  };
}

export async function* chatChunks(started: StartedChat, meta: ResponseMeta, includeUsage: boolean): AsyncGenerator<Chunk> {
  const base = { id: meta.id, object: 'chat.completion.chunk' as const, created: meta.created, model: meta.model, ...(includeUsage && { usage: null }) };
  const n = started.generation.choiceCount;
  yield { ...base, choices: Array.from({ length: n }, (_, index) => ({ index, delta: { role: 'assistant' as const, content: '' }, logprobs: null, finish_reason: null })) };
  for await (const event of started.generation) {
    if (event.type === 'text') {
      const logprobs = started.logprobs ? { content: event.tokens.map(tokenLogprob), refusal: null } : null;
      yield { ...base, choices: [{ index: event.index, delta: { content: event.text }, logprobs, finish_reason: null }] };
    } else if (event.type === 'finish') {
      yield { ...base, choices: [{ index: event.index, delta: {}, logprobs: null, finish_reason: event.reason }] };
    }
  }
  if (includeUsage) yield { ...base, choices: [], usage: usage(started) };
}
