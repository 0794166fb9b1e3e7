// Loading a model folder (HF layout: config.json + weights) into the class of its architecture, and
// saving one back.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChatGlm6bModel } from './chatglm6b/model.ts';
import { readModelConfig, type ModelConfig } from './config.ts';
import { GlmModel } from './glm.ts';
import type { CausalLanguageModel } from './language-model.ts';
import { openWeights, writeWeights, type CheckpointWriteOptions, type WeightSource } from './weights/checkpoint.ts';

/** Builds the model of the config's architecture from named tensors. Call initCompute() first. */
export function modelFromWeights(config: ModelConfig, source: WeightSource): CausalLanguageModel {
  return config.architecture === 'chatglm6b' ? ChatGlm6bModel.fromWeights(config, source) : GlmModel.fromWeights(config, source);
}

/** Loads a model folder: its config and every weight, tensor by tensor. Call initCompute() first. */
export function loadModel(dir: string): CausalLanguageModel {
  return modelFromWeights(readModelConfig(dir), openWeights(dir));
}

/**
 * Writes the model as an HF-layout folder that loadModel reads back: config.json (the keys it was
 * loaded with) and the weights under THUDM names. Tokenizer files are the caller's to copy.
 */
export function saveModel(model: CausalLanguageModel, dir: string, options: CheckpointWriteOptions = {}): void {
  mkdirSync(dir, { recursive: true });
  writeWeights(dir, model.weightsToWrite(), options);
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(model.config.raw, null, 2)}\n`);
}
