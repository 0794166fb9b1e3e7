// Messages between the main thread and a trainer thread. Validated on receipt on both sides: a thread
// is a separate JS realm, and a malformed message is a bug to report, not to act on.
import { z } from 'zod';

export const trainRequestSchema = z.object({
  type: z.literal('train'),
  modelDir: z.string(),
  trainFile: z.string(),
  validationFile: z.string().optional(),
  config: z.record(z.string(), z.unknown()),
  outputDir: z.string(),
  checkpointDir: z.string(),
  resumeFrom: z.string().optional(),
  initFrom: z.string().optional(),
  teacherDir: z.string().optional(),
  compute: z.object({ backend: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']), native: z.boolean(), blasThreads: z.number().int().positive() }),
});

/** pause: save a checkpoint and stop; shutdown: the same, then the job goes back to the queue; cancel: stop. */
export const stopReasonSchema = z.enum(['cancel', 'pause', 'shutdown']);

const computeRequestSchema = trainRequestSchema.shape.compute;

export const toThreadSchema = z.discriminatedUnion('type', [
  trainRequestSchema,
  /** Initialise the backend and report it (what /readyz shows), without training. */
  z.object({ type: z.literal('probe'), compute: computeRequestSchema }),
  z.object({ type: z.literal('stop'), reason: stopReasonSchema }),
  z.object({ type: z.literal('checkpoint-stored'), step: z.number().int(), error: z.string().optional() }),
]);

const progressSchema = z.object({
  type: z.literal('progress'),
  step: z.number().int(),
  totalSteps: z.number().int(),
  epoch: z.number(),
  loss: z.number(),
  lr: z.number(),
  gradNorm: z.number(),
  tokensPerSecond: z.number(),
  eta: z.number(),
  trainedTokens: z.number(),
});

export const fromThreadSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('log'), message: z.string() }),
  z.object({ type: z.literal('compute'), info: z.record(z.string(), z.unknown()) }),
  progressSchema,
  z.object({ type: z.literal('eval'), step: z.number().int(), metrics: z.record(z.string(), z.number().nullable()), best: z.boolean() }),
  /** The thread waits for `checkpoint-stored` before it trains on. */
  z.object({ type: z.literal('checkpoint'), step: z.number().int(), dir: z.string(), reason: z.enum(['save_steps', 'pause', 'end']), metrics: z.record(z.string(), z.number().nullable()) }),
  z.object({
    type: z.literal('done'),
    status: z.enum(['completed', 'early_stopped', 'cancelled', 'paused']),
    step: z.number().int(),
    totalSteps: z.number().int(),
    trainedTokens: z.number(),
    outputDir: z.string().optional(),
    trainedParameters: z.number(),
    bestStep: z.number().int().optional(),
  }),
  z.object({ type: z.literal('failed'), code: z.string(), message: z.string() }),
]);

export type TrainRequest = z.infer<typeof trainRequestSchema>;
export type StopReason = z.infer<typeof stopReasonSchema>;
export type ToThread = z.infer<typeof toThreadSchema>;
export type FromThread = z.infer<typeof fromThreadSchema>;
export type ThreadProgress = z.infer<typeof progressSchema>;
export type ThreadDone = Extract<FromThread, { type: 'done' }>;
