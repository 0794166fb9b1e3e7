// POST /v1/chat/completions as a domain operation: the messages rendered with the model's chat
// template, every OpenAI field checked against the model (context, vocabulary) before any work, then
// a generation started. Fields OpenAI has that glmtune cannot honour are refused when set, not ignored.
import { errors } from '../errors.ts';
import { chatReplyFormat } from '../inference/reply-format.ts';
import type { ChatMessage } from '../model/chat.ts';
import type { ChatTemplate } from '../model/chat-templates/types.ts';
import type { Principal } from './auth.ts';
import type { Generation } from './generation.ts';
import type { InferenceService } from './inference.ts';
import { checkPromptCharacters, checkTokenIds, completionBudget } from './prompt-limits.ts';
import { type SamplingRequest, samplingOf, seedsFor, stopStringsOf } from './sampling-params.ts';

export interface ChatMessageInput {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  content?: string | { type: string; text?: string }[] | null;
  tool_calls?: unknown[] | null;
}

export interface ChatCompletionRequest extends SamplingRequest {
  model: string;
  messages: ChatMessageInput[];
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  logprobs?: boolean | null;
  top_logprobs?: number | null;
  response_format?: { type: string } | null;
  tools?: unknown[] | null;
  functions?: unknown[] | null;
  tool_choice?: unknown;
  function_call?: unknown;
  modalities?: string[] | null;
  audio?: unknown;
  prediction?: unknown;
  web_search_options?: unknown;
}

export interface StartedChat {
  generation: Generation;
  /** The request asked for logprobs. */
  logprobs: boolean;
}

const ROLES: Record<ChatMessageInput['role'], ChatMessage['role']> = {
  system: 'system',
  developer: 'system',
  user: 'user',
  assistant: 'assistant',
  tool: 'observation', // ChatGLM3's role for what a tool returned
};

/** OpenAI messages as the chat templates take them; text parts only. */
export function chatMessages(messages: readonly ChatMessageInput[], param = 'messages'): ChatMessage[] {
  return messages.map((m, i) => {
    if (m.tool_calls?.length) throw errors.invalid('Tool calls are not supported.', `${param}[${i}].tool_calls`, 'unsupported_value');
    if (m.content === null || m.content === undefined) throw errors.invalid(`${param}[${i}].content is required.`, `${param}[${i}].content`);
    const content =
      typeof m.content === 'string'
        ? m.content
        : m.content
            .map((part, j) => {
              if (part.type !== 'text' || typeof part.text !== 'string') {
                throw errors.invalid(`Content parts of type '${part.type}' are not supported: glmtune's models read text parts ({"type": "text", "text": …}).`, `${param}[${i}].content[${j}]`, 'unsupported_value');
              }
              return part.text;
            })
            .join('');
    return { role: ROLES[m.role], content };
  });
}

/** The template's ids for the messages; a conversation the template cannot render is the caller's error. */
export function renderChat(template: ChatTemplate, messages: ChatMessage[], param = 'messages'): number[] {
  try {
    return template.generationPrompt(messages);
  } catch (err) {
    throw errors.invalid(`The messages do not fit this model's chat template: ${(err as Error).message}.`, param);
  }
}

function refuseUnsupported(body: ChatCompletionRequest): void {
  const unsupported = (param: string, what: string) => errors.invalid(`${what} is not supported by glmtune.`, param, 'unsupported_parameter');
  if (body.tools?.length) throw unsupported('tools', 'Tool calling');
  if (body.functions?.length) throw unsupported('functions', 'Function calling');
  for (const param of ['tool_choice', 'function_call'] as const) {
    const value = body[param];
    if (value !== undefined && value !== null && value !== 'none' && value !== 'auto') throw unsupported(param, `${param} other than "none" or "auto"`);
  }
  if (body.response_format && body.response_format.type !== 'text') throw unsupported('response_format.type', `response_format ${JSON.stringify(body.response_format.type)}`);
  if (body.modalities && body.modalities.some((m) => m !== 'text')) throw unsupported('modalities', 'Output other than text');
  for (const param of ['audio', 'prediction', 'web_search_options'] as const) {
    if (body[param] !== undefined && body[param] !== null) throw unsupported(param, param);
  }
  if (body.top_logprobs !== undefined && body.top_logprobs !== null && !body.logprobs) {
    throw errors.invalid('top_logprobs requires logprobs: true.', 'top_logprobs');
  }
}

export class ChatCompletionService {
  constructor(private readonly inference: InferenceService) {}

  async create(principal: Principal, body: ChatCompletionRequest, signal?: AbortSignal): Promise<StartedChat> {
    refuseUnsupported(body);
    const messages = chatMessages(body.messages);
    const served = await this.inference.model(principal.organizationId, body.model);
    checkPromptCharacters(
      messages.reduce((sum, m) => sum + m.content.length, 0),
      served.contextLength,
      'messages',
    );
    const promptIds = renderChat(await served.template(), messages);
    checkTokenIds(promptIds, served.vocabSize, () => 'messages');
    const n = body.n ?? 1;
    const maxTokens = completionBudget(promptIds.length, body.max_completion_tokens ?? body.max_tokens ?? undefined, served.contextLength, 'messages');
    const logprobs = body.logprobs === true;
    const generation = await this.inference.generate(
      served,
      {
        promptIds,
        maxTokens,
        seeds: seedsFor(body.seed, n),
        sampling: samplingOf(body, served.vocabSize),
        stopIds: body.ignore_eos ? [] : [...(await served.template()).stopIds],
        vocabSize: served.vocabSize,
        stopStrings: stopStringsOf(body.stop),
        logprobs: logprobs ? (body.top_logprobs ?? 0) : null,
        promptLogprobs: null,
        format: chatReplyFormat(served.tokenizer),
      },
      signal,
    );
    return { generation, logprobs };
  }
}
