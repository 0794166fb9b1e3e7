// Request and response fields that chat completions and completions share: OpenAI's sampling fields
// with OpenAI's ranges, the streaming options, usage, and glmtune's extensions beside them (named as
// vLLM names them).
import { z } from 'zod';
import { MAX_CHOICES, MAX_LOGIT_BIAS, MAX_STOP_LENGTH, MAX_STOP_SEQUENCES } from '../../services/sampling-params.ts';

const stopString = z.string().min(1).max(MAX_STOP_LENGTH);

export const samplingFields = {
  temperature: z.number().min(0).max(2).nullish().describe('0 is greedy. Default 1.'),
  top_p: z.number().gt(0).max(1).nullish().describe('Default 1.'),
  n: z.number().int().min(1).max(MAX_CHOICES).nullish().describe(`Sequences to generate, at most ${MAX_CHOICES}. Default 1.`),
  stop: z
    .union([stopString, z.array(stopString).max(MAX_STOP_SEQUENCES)])
    .nullish()
    .describe(`Up to ${MAX_STOP_SEQUENCES} strings; the text ends before the first one generated.`),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  logit_bias: z
    .record(z.string().regex(/^\d+$/, 'keys are token ids'), z.number().min(-100).max(100))
    .refine((m) => Object.keys(m).length <= MAX_LOGIT_BIAS, `at most ${MAX_LOGIT_BIAS} entries`)
    .nullish()
    .describe('Token id → bias added to its logit (-100 to 100).'),
  seed: z.number().int().nullish().describe('The same seed and request give the same tokens.'),
  user: z.string().max(512).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z
    .object({ include_usage: z.boolean().nullish(), include_obfuscation: z.boolean().nullish() })
    .nullish()
    .describe('include_usage: a last chunk with the usage and no choices.'),
  // glmtune's extensions (vLLM's names):
  top_k: z.number().int().min(-1).max(100_000).nullish().describe('glmtune: keep only the k most likely tokens (0 or -1: all).'),
  repetition_penalty: z.number().gt(0).max(10).nullish().describe('glmtune: Hugging Face repetition penalty (1: none).'),
  ignore_eos: z.boolean().nullish().describe('glmtune: keep generating past the model’s end tokens (benchmarks).'),
};

export const Usage = z
  .object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int(), total_tokens: z.number().int() })
  .meta({ id: 'CompletionUsage' });

export const FinishReason = z.enum(['stop', 'length']);
