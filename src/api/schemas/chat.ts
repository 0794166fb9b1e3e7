import { z } from 'zod';
import { FinishReason, samplingFields, Usage } from './generation.ts';

const ContentPart = z.looseObject({ type: z.string(), text: z.string().optional() });

export const ChatMessageParam = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: z.union([z.string(), z.array(ContentPart).min(1)]).nullish().describe('Text, or an array of text parts.'),
  name: z.string().max(256).nullish(),
  tool_calls: z.array(z.unknown()).nullish(),
  tool_call_id: z.string().nullish(),
});

export const ChatCompletionBody = z
  .strictObject({
    model: z.string().min(1).max(300),
    messages: z.array(ChatMessageParam).min(1).max(10_000),
    max_tokens: z.number().int().min(1).nullish().describe('Deprecated by OpenAI for max_completion_tokens; both are accepted.'),
    max_completion_tokens: z.number().int().min(1).nullish().describe('Default: what the context leaves after the prompt.'),
    logprobs: z.boolean().nullish(),
    top_logprobs: z.number().int().min(0).max(20).nullish(),
    ...samplingFields,
    // OpenAI fields accepted for compatibility; those that would change the output are refused when set.
    response_format: z.looseObject({ type: z.string() }).nullish().describe('Only {"type": "text"}.'),
    tools: z.array(z.unknown()).nullish().describe('Not supported: must be absent or empty.'),
    tool_choice: z.unknown().optional(),
    parallel_tool_calls: z.boolean().nullish(),
    functions: z.array(z.unknown()).nullish().describe('Not supported: must be absent or empty.'),
    function_call: z.unknown().optional(),
    modalities: z.array(z.string()).nullish().describe('Only ["text"].'),
    audio: z.unknown().optional(),
    prediction: z.unknown().optional(),
    web_search_options: z.unknown().optional(),
    reasoning_effort: z.string().nullish(),
    verbosity: z.string().nullish(),
    service_tier: z.string().nullish(),
    store: z.boolean().nullish(),
    metadata: z.record(z.string(), z.string()).nullish(),
    prompt_cache_key: z.string().nullish(),
    prompt_cache_retention: z.string().nullish(),
    safety_identifier: z.string().nullish(),
  })
  .meta({ id: 'CreateChatCompletionRequest' });

const TopLogprob = z.object({ token: z.string(), logprob: z.number(), bytes: z.array(z.number().int()).nullable() });
export const ChatTokenLogprob = TopLogprob.extend({ top_logprobs: z.array(TopLogprob) }).meta({ id: 'ChatCompletionTokenLogprob' });
const ChoiceLogprobs = z.object({ content: z.array(ChatTokenLogprob).nullable(), refusal: z.array(ChatTokenLogprob).nullable() });

export const ChatCompletion = z
  .object({
    id: z.string(),
    object: z.literal('chat.completion'),
    created: z.number().int(),
    model: z.string(),
    choices: z.array(
      z.object({
        index: z.number().int(),
        message: z.object({ role: z.literal('assistant'), content: z.string(), refusal: z.null() }),
        logprobs: ChoiceLogprobs.nullable(),
        finish_reason: FinishReason,
      }),
    ),
    usage: Usage,
  })
  .meta({ id: 'CreateChatCompletionResponse' });

/** For the OpenAPI document: what each `data:` event of a stream holds (the stream ends with `data: [DONE]`). */
export const ChatCompletionChunk = z
  .object({
    id: z.string(),
    object: z.literal('chat.completion.chunk'),
    created: z.number().int(),
    model: z.string(),
    choices: z.array(
      z.object({
        index: z.number().int(),
        delta: z.object({ role: z.literal('assistant').optional(), content: z.string().optional() }),
        logprobs: ChoiceLogprobs.nullable().optional(),
        finish_reason: FinishReason.nullable(),
      }),
    ),
    usage: Usage.nullable().optional(),
  })
  .meta({ id: 'CreateChatCompletionStreamResponse' });
