// The training loop over prepared parts (a model with its method, encoded examples, a parsed config):
// gradient steps with accumulation, clipping, the schedule and AdamW; evaluation, early stopping and
// checkpoints; progress callbacks; cancellation and pause between steps. train.ts builds the parts
// from folders and files; tests call this directly too.
import * as tf from '@tensorflow/tfjs';
import type { ChatTemplate } from '../model/chat-templates/types.ts';
import type { CausalLanguageModel } from '../model/language-model.ts';
import { hashString } from '../model/random.ts';
import type { Tokenizer } from '../model/tokenizers/types.ts';
import type { TuningMethod } from '../methods/types.ts';
import { assignFrom, copyToHost, readCheckpoint, saveCheckpoint, CHECKPOINT_FORMAT, type HostWeights, type TrainerState } from './checkpoint.ts';
import type { TrainingConfig } from './config.ts';
import { collate, DataPlan, type Batch } from './data/batches.ts';
import type { EncodedExample } from './data/encode.ts';
import { distillationObjective } from './distill.ts';
import { EarlyStopping } from './early-stopping.ts';
import { TrainingDivergedError, TrainingSetupError } from './errors.ts';
import { generationMetrics, type GenerationMetrics } from './eval/generation.ts';
import { validationMetrics, type ValidationMetrics } from './eval/validation.ts';
import { AdamW } from './optim/adamw.ts';
import { clipByGlobalNorm, globalNorm } from './optim/clip.ts';
import { scheduleFactor, warmupSteps, type Schedule } from './optim/schedule.ts';
import { accumulateGradients, causalLmObjective } from './step.ts';

/** Abort with this reason to pause (a checkpoint is saved first); any other reason cancels. */
export const PAUSE = 'pause';

export interface ProgressEvent {
  /** Optimizer steps completed. */
  step: number;
  totalSteps: number;
  /** Epochs completed, fractional (HF's convention). */
  epoch: number;
  /** This step's token-weighted mean training loss. */
  loss: number;
  /** The learning rate this step used. */
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Real tokens trained per second, since the run (or resume) started. */
  tokensPerSecond: number;
  /** Seconds left at the pace so far. */
  eta: number;
  trainedTokens: number;
}

export interface EvalEvent {
  step: number;
  epoch: number;
  validation: ValidationMetrics;
  generation?: GenerationMetrics;
  /** Whether this is the best validation loss so far. */
  best: boolean;
}

export interface CheckpointEvent {
  step: number;
  dir: string;
  reason: 'save_steps' | 'pause' | 'end';
}

export interface TrainCallbacks {
  onProgress?(event: ProgressEvent): void;
  onEval?(event: EvalEvent): void;
  /** The base model's generation metrics on the evaluation samples (eval_base_model), before training. */
  onBaseEval?(metrics: GenerationMetrics): void;
  /** Awaited: the caller may upload the folder before training goes on. */
  onCheckpoint?(event: CheckpointEvent): void | Promise<void>;
}

export interface LoopOptions {
  model: CausalLanguageModel;
  method: TuningMethod;
  tokenizer: Tokenizer;
  template: ChatTemplate;
  train: readonly EncodedExample[];
  validation: readonly EncodedExample[];
  config: TrainingConfig;
  /** A frozen teacher with the student's tokenizer: the run distils (config.distillation). */
  teacher?: CausalLanguageModel;
  /** Where checkpoint-<step>/ folders go; needed for save_steps and pause. */
  checkpointDir?: string;
  /** The base model folder (tokenizer files for checkpoint exports). */
  baseDir?: string;
  /** A checkpoint folder to continue from. */
  resumeFrom?: string;
  signal?: AbortSignal;
  callbacks?: TrainCallbacks;
}

export type RunStatus = 'completed' | 'early_stopped' | 'cancelled' | 'paused';

export interface LoopResult {
  status: RunStatus;
  step: number;
  totalSteps: number;
  trainedTokens: number;
  /** Training loss of every step, resumed steps included. */
  losses: number[];
  /** The step whose weights are the result when load_best_at_end chose an earlier evaluation. */
  bestStep?: number;
  bestValidationLoss?: number;
  lastEval?: EvalEvent;
  /** The last checkpoint written (the pause checkpoint when paused). */
  checkpoint?: string;
}

/** Fixed-size micro-batches of the validation set, in file order. */
function validationBatches(examples: readonly EncodedExample[], batchSize: number, padId: number): Batch[] {
  const batches: Batch[] = [];
  for (let i = 0; i < examples.length; i += batchSize) batches.push(collate(examples.slice(i, i + batchSize), padId));
  return batches;
}

export async function runTraining(options: LoopOptions): Promise<LoopResult> {
  const { model, method, tokenizer, template, config, signal, callbacks = {} } = options;
  if (config.distillation && !options.teacher) throw new TrainingSetupError('config.distillation is set but no teacher model was given');
  if (config.early_stopping_patience !== undefined && options.validation.length === 0) {
    throw new TrainingSetupError('early_stopping_patience needs validation data: give a validation file or a validation_split');
  }
  const trainable = method.trainable();
  const plan = new DataPlan(options.train.length, config.batch_size, config.gradient_accumulation_steps, config.seed);
  const totalSteps = config.max_steps ?? config.epochs * plan.stepsPerEpoch;
  const schedule: Schedule = { type: config.lr_scheduler_type, warmupSteps: warmupSteps(config.warmup_steps, config.warmup_ratio, totalSteps), totalSteps };
  const optimizer = new AdamW(trainable, { beta1: config.adam_beta1, beta2: config.adam_beta2, eps: config.adam_epsilon, weightDecay: config.weight_decay }, (name) => method.decays(name));
  const early = new EarlyStopping(config.early_stopping_patience, config.early_stopping_threshold);
  const valBatches = validationBatches(options.validation, config.batch_size, tokenizer.padId);
  const samples = options.validation.slice(0, config.eval_samples).map((e) => e.messages);

  let step = 0;
  let trainedTokens = 0;
  let losses: number[] = [];
  let best: HostWeights | undefined;
  let baseGeneration: GenerationMetrics | undefined;
  if (options.resumeFrom) {
    const saved = readCheckpoint(options.resumeFrom);
    const s = saved.state;
    if (s.method !== method.name) throw new TrainingSetupError(`checkpoint ${options.resumeFrom} is of method ${s.method}, not ${method.name}`);
    if (s.trainExamples !== options.train.length || s.seed !== config.seed) throw new TrainingSetupError(`checkpoint ${options.resumeFrom} was made with other training data or seed`);
    assignFrom(trainable, (name) => saved.trainable.read(name));
    optimizer.load(s.optimizerStep, (name) => saved.optimizer.read(name));
    early.restore(s.earlyStopping);
    if (saved.best) best = new Map([...trainable].map(([name, v]) => [name, { shape: v.shape, values: saved.best!.read(name) }]));
    ({ step, trainedTokens, losses, baseGeneration } = { ...s, losses: [...s.losses] });
  }

  const dropoutSeed = (microBatch: number) => (config.seed ^ hashString(`dropout:${step}:${microBatch}`)) >>> 0;
  const objective = options.teacher && config.distillation
    ? distillationObjective(model, method, options.teacher, config.distillation, dropoutSeed)
    : causalLmObjective(model, method, dropoutSeed);

  const state = (): TrainerState => ({
    format: CHECKPOINT_FORMAT,
    method: method.name,
    step,
    totalSteps,
    position: plan.position(step),
    trainExamples: options.train.length,
    seed: config.seed,
    optimizerStep: optimizer.stepCount,
    trainedTokens,
    earlyStopping: early.snapshot,
    losses,
    ...(baseGeneration && { baseGeneration }),
  });
  let checkpoint: string | undefined;
  const save = async (reason: CheckpointEvent['reason']): Promise<void> => {
    if (!options.checkpointDir) return;
    const bestDiffers = best && early.snapshot.bestStep !== step;
    checkpoint = await saveCheckpoint(options.checkpointDir, { method, optimizer, state: state(), best: bestDiffers ? best : undefined, baseDir: options.baseDir });
    await callbacks.onCheckpoint?.({ step, dir: checkpoint, reason });
  };

  const evaluate = async (): Promise<{ event: EvalEvent; stop: boolean }> => {
    const validation = validationMetrics(model, valBatches, () => method.forwardOptions(false));
    const generation = samples.length > 0 ? await generationMetrics(model, template, tokenizer, samples, { maxNewTokens: config.eval_max_new_tokens, extras: () => method.forwardOptions(false), signal }) : undefined;
    const { best: isBest, stop } = early.observe(step, validation.loss);
    if (isBest && config.load_best_at_end) best = copyToHost(trainable);
    const event: EvalEvent = { step, epoch: step / plan.stepsPerEpoch, validation, ...(generation && { generation }), best: isBest };
    callbacks.onEval?.(event);
    return { event, stop };
  };

  let status: RunStatus = 'completed';
  let lastEval: EvalEvent | undefined;
  try {
    if (config.eval_base_model && samples.length > 0 && !baseGeneration) {
      // With no adapters or prefix the model is the base; before the first step that holds for full and freeze too.
      baseGeneration = await generationMetrics(model, template, tokenizer, samples, { maxNewTokens: config.eval_max_new_tokens, extras: () => ({}), signal });
      callbacks.onBaseEval?.(baseGeneration);
    }
    const started = performance.now();
    const startStep = step;
    let tokensSinceStart = 0;
    while (step < totalSteps) {
      if (signal?.aborted) {
        status = signal.reason === PAUSE ? 'paused' : 'cancelled';
        break;
      }
      const batches = plan.microBatches(step).map((indices) => collate(indices.map((i) => options.train[i]), tokenizer.padId));
      const { grads, loss, tokens } = accumulateGradients(trainable, batches, objective);
      const gradNorm = globalNorm(grads);
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
        tf.dispose([...grads.values()]);
        throw new TrainingDivergedError(step + 1, loss, gradNorm);
      }
      if (config.max_grad_norm > 0) clipByGlobalNorm(grads, gradNorm, config.max_grad_norm);
      const lr = config.learning_rate * scheduleFactor(schedule, step);
      optimizer.step(grads, lr);
      tf.dispose([...grads.values()]);
      step++;
      trainedTokens += tokens;
      tokensSinceStart += tokens;
      losses.push(loss);

      const elapsed = (performance.now() - started) / 1000;
      callbacks.onProgress?.({
        step, totalSteps, epoch: step / plan.stepsPerEpoch, loss, lr, gradNorm,
        tokensPerSecond: tokensSinceStart / elapsed,
        eta: ((totalSteps - step) * elapsed) / (step - startStep),
        trainedTokens,
      });

      const epochEnd = step % plan.stepsPerEpoch === 0;
      let stop = false;
      if (valBatches.length > 0 && ((config.eval_steps !== undefined && step % config.eval_steps === 0) || epochEnd || step === totalSteps)) {
        ({ event: lastEval, stop } = await evaluate());
      }
      if (config.save_steps !== undefined && step % config.save_steps === 0 && step < totalSteps && !stop) await save('save_steps');
      if (stop) {
        status = 'early_stopped';
        break;
      }
      await new Promise((resolve) => setImmediate(resolve)); // lets a cancel/pause message arrive
    }

    if (status === 'paused') await save('pause');
    // the end checkpoint holds the last weights (and the best ones beside them), to resume from
    if (status === 'completed' || status === 'early_stopped') await save('end');
    const { bestStep, bestLoss } = early.snapshot;
    const useBest = config.load_best_at_end && best !== undefined && bestStep !== null && bestStep !== step && status !== 'paused' && status !== 'cancelled';
    if (useBest) assignFrom(trainable, (name) => best!.get(name)!.values);
    return {
      status, step, totalSteps, trainedTokens, losses, checkpoint,
      ...(useBest && { bestStep: bestStep! }),
      ...(bestLoss !== null && { bestValidationLoss: bestLoss }),
      ...(lastEval && { lastEval }),
    };
  } finally {
    optimizer.dispose();
  }
}
