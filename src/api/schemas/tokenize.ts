// vLLM's /tokenize and /detokenize bodies.
import { z } from 'zod';
import { ChatMessageParam } from './chat.ts';

export const TokenizeBody = z
  .strictObject({
    model: z.string().min(1).max(300),
    prompt: z.string().optional().describe('Text to tokenize (give prompt or messages).'),
    messages: z.array(ChatMessageParam).min(1).max(10_000).optional().describe('A conversation to render with the model’s chat template.'),
    add_generation_prompt: z
      .boolean()
      .default(true)
      .describe('With messages. true: the prompt a reply is generated from; false: the whole conversation (ending with an assistant message) as it is trained.'),
    add_special_tokens: z.boolean().default(true).describe('With prompt: add the family’s special tokens ([gMASK] sop for ChatGLM3). Chat templates always include them.'),
    return_token_strs: z.boolean().default(false),
  })
  .meta({ id: 'TokenizeRequest' });

export const TokenizeResponse = z
  .object({
    count: z.number().int(),
    max_model_len: z.number().int(),
    tokens: z.array(z.number().int()),
    token_strs: z.array(z.string()).nullable(),
  })
  .meta({ id: 'TokenizeResponse' });

export const DetokenizeBody = z
  .strictObject({ model: z.string().min(1).max(300), tokens: z.array(z.number().int().min(0)).max(1_000_000) })
  .meta({ id: 'DetokenizeRequest' });

export const DetokenizeResponse = z.object({ prompt: z.string() }).meta({ id: 'DetokenizeResponse' });
