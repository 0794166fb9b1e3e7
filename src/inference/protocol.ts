// Messages between the main thread and an inference thread. Validated on receipt on both sides (a
// thread is a separate JS realm; a malformed message is a bug to report, not to act on). Models are
// named by cache keys the main thread chooses; paths are local folders the main thread staged.
import { z } from 'zod';

const int = z.number().int();
const tokenId = int.nonnegative();

export const computeSchema = z.object({
  backend: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']),
  native: z.boolean(),
  blasThreads: int.positive(),
});

/** What a cache key holds: a whole model (a base, or a full fine-tune as its own base), or an adapter on one. */
export const loadSourceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('model'), dir: z.string() }),
  /** A PEFT LoRA folder, applied unmerged per request on the model `base`. */
  z.object({ kind: z.literal('lora'), dir: z.string(), base: z.string() }),
  /** A P-tuning v2 folder; its prefix is computed once and put in each request's cache. */
  z.object({ kind: z.literal('prefix'), dir: z.string(), base: z.string() }),
]);

export const samplingSchema = z.object({
  temperature: z.number().min(0),
  topP: z.number().gt(0).max(1),
  topK: int.nonnegative(),
  repetitionPenalty: z.number().positive(),
  presencePenalty: z.number(),
  frequencyPenalty: z.number(),
  /** Token id → value added to its logit before sampling (OpenAI's logit_bias). */
  logitBias: z.array(z.tuple([tokenId, z.number()])),
});

export const generateSchema = z.object({
  type: z.literal('generate'),
  /** The main thread's request id; every reply about it carries it. */
  id: z.string(),
  /** Key of a loaded model, and of one of its adapters (LoRA or prefix) or none. */
  model: z.string(),
  adapter: z.string().optional(),
  promptIds: z.array(tokenId).min(1),
  /** One sampling seed per sequence: the request wants seeds.length sequences (OpenAI's n). */
  seeds: z.array(int.nonnegative()).min(1),
  /** New tokens per sequence; 0 scores the prompt only. */
  maxTokens: int.nonnegative(),
  sampling: samplingSchema,
  /** Ids that end a sequence (reported, then finished with 'stop'). */
  stopIds: z.array(tokenId),
  /** Ids at or past this are never chosen (the embedding is padded beyond the tokenizer). */
  vocabSize: int.positive(),
  /** Report each generated token's logprob and this many alternatives; null: no logprobs. */
  logprobs: int.nonnegative().nullable(),
  /** Report each prompt token's logprob (the first has none) and this many alternatives; null: none. */
  promptLogprobs: int.nonnegative().nullable(),
});

export const toThreadSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('init'), compute: computeSchema, maxBatch: int.positive() }),
  z.object({ type: z.literal('load'), key: z.string(), source: loadSourceSchema }),
  /** Frees a model (and every adapter on it) or an adapter. */
  z.object({ type: z.literal('unload'), key: z.string() }),
  generateSchema,
  /** Stops one sequence of a request (index) or all of them. */
  z.object({ type: z.literal('cancel'), id: z.string(), index: int.nonnegative().optional() }),
  /** Asks for the bytes of every tensor the thread holds now. */
  z.object({ type: z.literal('memory'), id: z.string() }),
  /** Writes the loaded model with a LoRA folder merged in, as an HF-layout folder (tokenizer files from baseDir). */
  z.object({ type: z.literal('merge'), id: z.string(), model: z.string(), adapterDir: z.string(), baseDir: z.string(), outDir: z.string() }),
]);

const alternativeSchema = z.object({ id: tokenId, logprob: z.number() });

export const generatedTokenSchema = z.object({
  index: int.nonnegative(),
  id: tokenId,
  /** With logprobs requested: log p(token), before penalties and temperature, and the top alternatives. */
  logprob: z.number().optional(),
  top: z.array(alternativeSchema).optional(),
});

export const fromThreadSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), compute: z.record(z.string(), z.unknown()) }),
  /** bytes: what the entry holds (the thread's tensor bytes grew by this much). */
  z.object({ type: z.literal('loaded'), key: z.string(), bytes: int.nonnegative() }),
  z.object({ type: z.literal('load-failed'), key: z.string(), message: z.string() }),
  z.object({ type: z.literal('memory'), id: z.string(), tensorBytes: int.nonnegative() }),
  /** The prompt's tokens scored (first token: null, it has no context). */
  z.object({
    type: z.literal('prompt'),
    id: z.string(),
    tokens: z.array(z.object({ logprob: z.number().nullable(), top: z.array(alternativeSchema) })),
  }),
  /** The tokens one decoding step produced for this request's sequences. */
  z.object({ type: z.literal('tokens'), id: z.string(), tokens: z.array(generatedTokenSchema) }),
  z.object({ type: z.literal('finished'), id: z.string(), index: int.nonnegative(), reason: z.enum(['stop', 'length', 'cancelled']) }),
  z.object({ type: z.literal('failed'), id: z.string(), message: z.string() }),
  z.object({ type: z.literal('merged'), id: z.string() }),
]);

export type ComputeRequest = z.infer<typeof computeSchema>;
export type LoadSource = z.infer<typeof loadSourceSchema>;
export type Sampling = z.infer<typeof samplingSchema>;
export type GenerateRequest = z.infer<typeof generateSchema>;
export type ToThread = z.infer<typeof toThreadSchema>;
export type FromThread = z.infer<typeof fromThreadSchema>;
export type GeneratedTokenMessage = z.infer<typeof generatedTokenSchema>;
export type ThreadEvent = Extract<FromThread, { type: 'prompt' | 'tokens' | 'finished' | 'failed' }>;
