// A training checkpoint: everything a run needs to continue as if it had never stopped, plus the
// method's export of the weights at that step (servable on its own). A folder `checkpoint-<step>/`:
//   trainable.safetensors        the method's trainable tensors, under the method's names
//   optimizer.safetensors        AdamW moments, `<name>.exp_avg` / `<name>.exp_avg_sq`
//   best.safetensors             the trainable tensors of the best evaluation, when they differ
//   trainer_state.json           step, data position, seed, optimizer step, early-stopping state, ...
//   export/                      method.export() of the weights at this step
// Data order and dropout masks are pure functions of (seed, step), so the seed is the whole RNG state.
// Written in a temporary sibling and renamed into place: a reader never sees half a checkpoint.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fileWeights, type WeightSource } from '../model/weights/checkpoint.ts';
import { writeSafetensors, type TensorToWrite } from '../model/weights/safetensors.ts';
import type { TuningMethod } from '../methods/types.ts';
import type { AdamW } from './optim/adamw.ts';
import type { DataPosition } from './data/batches.ts';
import type { EarlyStoppingState } from './early-stopping.ts';
import type { GenerationMetrics } from './eval/generation.ts';

export const CHECKPOINT_FORMAT = 'glmtune-checkpoint-1';

export interface TrainerState {
  format: typeof CHECKPOINT_FORMAT;
  method: string;
  /** Optimizer steps completed. */
  step: number;
  totalSteps: number;
  /** Where the next step's data starts (also derivable from step; recorded to check the data matches). */
  position: DataPosition;
  trainExamples: number;
  seed: number;
  optimizerStep: number;
  trainedTokens: number;
  earlyStopping: EarlyStoppingState;
  /** Training loss of every step so far. */
  losses: number[];
  /** The base model's generation metrics, once measured. */
  baseGeneration?: GenerationMetrics;
}

/** A snapshot of named float tensors in host memory (the best evaluation's weights). */
export type HostWeights = Map<string, { shape: number[]; values: Float32Array }>;

export function copyToHost(variables: ReadonlyMap<string, tf.Variable>): HostWeights {
  return new Map([...variables].map(([name, v]) => [name, { shape: v.shape, values: v.dataSync() as Float32Array }]));
}

/** Assigns each variable its tensor from `source` (by name; shapes must match). */
export function assignFrom(variables: ReadonlyMap<string, tf.Variable>, source: (name: string) => Float32Array): void {
  for (const [name, v] of variables) tf.tidy(() => v.assign(tf.tensor(source(name), v.shape)));
}

function toWrite(tensors: ReadonlyMap<string, tf.Variable>): TensorToWrite[] {
  return [...tensors].map(([name, v]) => ({ name, shape: v.shape, data: () => v.dataSync() as Float32Array }));
}

export function checkpointName(step: number): string {
  return `checkpoint-${step}`;
}

export interface CheckpointContents {
  method: TuningMethod;
  optimizer: AdamW;
  state: TrainerState;
  best?: HostWeights;
  /** Base model folder, for the export's tokenizer files. */
  baseDir?: string;
}

/** Writes `<root>/checkpoint-<step>` and returns its path (an existing one for the same step is replaced). */
export async function saveCheckpoint(root: string, contents: CheckpointContents): Promise<string> {
  const dir = join(root, checkpointName(contents.state.step));
  mkdirSync(root, { recursive: true });
  const temp = join(root, `.${basename(dir)}.tmp-${process.pid}`);
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp);
  try {
    writeSafetensors(join(temp, 'trainable.safetensors'), toWrite(contents.method.trainable()));
    writeSafetensors(join(temp, 'optimizer.safetensors'), toWrite(contents.optimizer.stateTensors()));
    if (contents.best) {
      writeSafetensors(join(temp, 'best.safetensors'), [...contents.best].map(([name, w]) => ({ name, shape: w.shape, data: () => w.values })));
    }
    writeFileSync(join(temp, 'trainer_state.json'), `${JSON.stringify(contents.state, null, 2)}\n`);
    await contents.method.export(join(temp, 'export'), { baseDir: contents.baseDir });
    rmSync(dir, { recursive: true, force: true });
    renameSync(temp, dir);
  } catch (err) {
    rmSync(temp, { recursive: true, force: true });
    throw err;
  }
  return dir;
}

export interface LoadedCheckpoint {
  state: TrainerState;
  trainable: WeightSource;
  optimizer: WeightSource;
  best?: WeightSource;
}

export function readCheckpoint(dir: string): LoadedCheckpoint {
  const statePath = join(dir, 'trainer_state.json');
  if (!existsSync(statePath)) throw new Error(`${dir}: not a checkpoint (no trainer_state.json)`);
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as TrainerState;
  if (state.format !== CHECKPOINT_FORMAT) throw new Error(`${dir}: checkpoint format ${String(state.format)}, expected ${CHECKPOINT_FORMAT}`);
  const best = join(dir, 'best.safetensors');
  return {
    state,
    trainable: fileWeights(join(dir, 'trainable.safetensors')),
    optimizer: fileWeights(join(dir, 'optimizer.safetensors')),
    ...(existsSync(best) && { best: fileWeights(best) }),
  };
}

/** The newest checkpoint folder under `root` (highest step), if any: where a restarted job resumes. */
export function latestCheckpoint(root: string): string | undefined {
  if (!existsSync(root)) return undefined;
  const steps = readdirSync(root).flatMap((name) => {
    const match = /^checkpoint-(\d+)$/.exec(name);
    return match && existsSync(join(root, name, 'trainer_state.json')) ? [Number(match[1])] : [];
  });
  return steps.length === 0 ? undefined : join(root, checkpointName(Math.max(...steps)));
}
