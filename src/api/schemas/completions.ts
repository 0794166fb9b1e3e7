import { z } from 'zod';
import { FinishReason, samplingFields, Usage } from './generation.ts';

const tokenIds = z.array(z.number().int().min(0)).min(1);

export const CompletionBody = z
  .strictObject({
    model: z.string().min(1).max(300),
    prompt: z
      .union([z.string(), z.array(z.string()).min(1), tokenIds, z.array(tokenIds).min(1)])
      .describe('A string, an array of token ids, or an array of either (one completion per prompt).'),
    echo: z.boolean().nullish().describe('Return the prompt before the completion (with logprobs: the prompt tokens’ logprobs too).'),
    logprobs: z.number().int().min(0).max(5).nullish().describe('Logprobs of the chosen tokens and this many alternatives.'),
    max_tokens: z.number().int().min(0).nullish().describe('Default 16. 0 with echo scores the prompt only.'),
    best_of: z.number().int().min(1).nullish().describe('Only best_of = n is supported.'),
    suffix: z.string().nullish().describe('Not supported: must be absent or empty.'),
    ...samplingFields,
  })
  .meta({ id: 'CreateCompletionRequest' });

const CompletionLogprobs = z.object({
  tokens: z.array(z.string()),
  token_logprobs: z.array(z.number().nullable()),
  top_logprobs: z.array(z.record(z.string(), z.number()).nullable()),
  text_offset: z.array(z.number().int()),
});

const CompletionChoice = z.object({
  index: z.number().int(),
  text: z.string(),
  logprobs: CompletionLogprobs.nullable(),
  finish_reason: FinishReason.nullable(),
});

/** Also the shape of each `data:` event of a stream (OpenAI's completions share it), then `data: [DONE]`. */
export const Completion = z
  .object({
    id: z.string(),
    object: z.literal('text_completion'),
    created: z.number().int(),
    model: z.string(),
    choices: z.array(CompletionChoice),
    usage: Usage.nullable().optional(),
  })
  .meta({ id: 'CreateCompletionResponse' });
