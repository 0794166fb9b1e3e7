// Loading a model folder (HF layout: config.json + safetensors) into a GlmModel, and saving one back.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readModelConfig } from './config.ts';
import { GlmModel } from './glm.ts';
import { openWeights, writeWeights, type CheckpointWriteOptions } from './weights/checkpoint.ts';

/** Loads a model folder: its config and every weight, tensor by tensor. Call initCompute() first. */
export function loadModel(dir: string): GlmModel {
  return GlmModel.fromWeights(readModelConfig(dir), openWeights(dir));
}

/**
 * Writes the model as an HF-layout folder that loadModel reads back: config.json (the keys it was
 * loaded with) and the weights under THUDM names. Tokenizer files are the caller's to copy.
 */
export function saveModel(model: GlmModel, dir: string, options: CheckpointWriteOptions = {}): void {
  mkdirSync(dir, { recursive: true });
  writeWeights(dir, model.weightsToWrite(), options);
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(model.config.raw, null, 2)}\n`);
}
