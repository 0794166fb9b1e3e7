// A trainer thread: runs one training job with TF.js, off the main thread. It reads and writes local
// files only; the main thread stages inputs, stores checkpoints and records everything (ARCHITECTURE.md).
import { parentPort } from 'node:worker_threads';
import { initCompute } from '../compute/backend.ts';
import type { TrainingConfigInput } from '../trainer/config.ts';
import { PAUSE } from '../trainer/loop.ts';
import { train } from '../trainer/train.ts';
import { TrainingDivergedError, TrainingSetupError } from '../trainer/errors.ts';
import { fromThreadSchema, type FromThread, type TrainRequest, toThreadSchema } from './protocol.ts';

if (!parentPort) throw new Error('thread.ts runs as a worker thread');
const port = parentPort;

function send(message: FromThread): void {
  port.postMessage(fromThreadSchema.parse(message));
}

/** The failure's code for the job's `error` (a person reads the message; a program reads the code). */
function codeOf(err: unknown): string {
  if (err instanceof CheckpointNotStoredError) return 'checkpoint_upload_failed';
  if (err instanceof TrainingDivergedError) return 'training_diverged';
  if (err instanceof TrainingSetupError) return 'invalid_training_setup';
  const e = err as { name?: string; message?: string; code?: string };
  if (e?.name === 'InvalidDatasetError') return 'invalid_training_file';
  if (e?.code === 'ENOSPC') return 'disk_full';
  if (/allocation failed|out of memory|Maximum call stack|memory access out of bounds/i.test(e?.message ?? '')) return 'out_of_memory';
  return 'training_error';
}

/** The main thread could not store a checkpoint (after its retries): training cannot go on safely. */
class CheckpointNotStoredError extends Error {
  constructor(step: number, reason: string) {
    super(`The checkpoint at step ${step} could not be stored: ${reason}`);
  }
}

/** What a person can do about it, with the engine's own words for the record. */
function outOfMemoryMessage(reason: string): string {
  return `The job ran out of memory (${reason}): lower batch_size or max_seq_len, or use gradient_accumulation_steps to keep the effective batch size.`;
}

const stop = new AbortController();
let acknowledge: ((error?: string) => void) | undefined;

async function run(request: TrainRequest): Promise<void> {
  await initCompute(request.compute.backend, { native: request.compute.native, blasThreads: request.compute.blasThreads }); // train() logs the result
  let lastLoss: number | null = null;
  let lastEval: Record<string, number | null> = {};
  const result = await train({
    modelDir: request.modelDir,
    trainFile: request.trainFile,
    validationFile: request.validationFile,
    config: request.config as TrainingConfigInput, // train() parses and checks it
    outputDir: request.outputDir,
    checkpointDir: request.checkpointDir,
    resumeFrom: request.resumeFrom,
    initFrom: request.initFrom,
    teacherDir: request.teacherDir,
    signal: stop.signal,
    log: (message) => send({ type: 'log', message }),
    callbacks: {
      onProgress(p) {
        lastLoss = p.loss;
        send({ type: 'progress', ...p });
      },
      onEval(e) {
        lastEval = {
          valid_loss: e.validation.loss,
          valid_mean_token_accuracy: e.validation.tokenAccuracy,
          valid_perplexity: e.validation.perplexity,
          ...(e.generation && {
            'rouge-1': e.generation['rouge-1'],
            'rouge-2': e.generation['rouge-2'],
            'rouge-l': e.generation['rouge-l'],
            'bleu-4': e.generation['bleu-4'],
          }),
        };
        send({ type: 'eval', step: e.step, metrics: lastEval, best: e.best });
      },
      onCheckpoint(c) {
        // Training waits until the main thread has stored the checkpoint: a crash after this point
        // resumes from it.
        const stored = new Promise<void>((resolve, reject) => {
          acknowledge = (error) => (error ? reject(new CheckpointNotStoredError(c.step, error)) : resolve());
        });
        send({ type: 'checkpoint', step: c.step, dir: c.dir, reason: c.reason, metrics: { step: c.step, train_loss: lastLoss, ...lastEval } });
        return stored;
      },
    },
  });
  const trainedParameters = result.memory.trainableBytes / 4;
  send({
    type: 'done',
    status: result.status,
    step: result.step,
    totalSteps: result.totalSteps,
    trainedTokens: result.trainedTokens,
    outputDir: result.outputDir,
    trainedParameters,
    bestStep: result.bestStep,
  });
}

port.on('message', (raw: unknown) => {
  const message = toThreadSchema.parse(raw);
  if (message.type === 'probe') {
    initCompute(message.compute.backend, { native: message.compute.native, blasThreads: message.compute.blasThreads }).then(
      (info) => send({ type: 'compute', info: { ...info } }),
      (err: unknown) => send({ type: 'failed', code: 'compute_unavailable', message: (err as Error).message }),
    );
  } else if (message.type === 'train') {
    run(message).catch((err: unknown) => {
      const code = codeOf(err);
      const reason = (err as Error)?.message ?? String(err);
      send({ type: 'failed', code, message: code === 'out_of_memory' ? outOfMemoryMessage(reason) : reason });
    });
  } else if (message.type === 'stop') {
    stop.abort(message.reason === 'cancel' ? 'cancel' : PAUSE);
  } else {
    acknowledge?.(message.error);
    acknowledge = undefined;
  }
});
