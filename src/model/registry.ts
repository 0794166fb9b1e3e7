// Base models available to the service: the built-in glm-tiny plus every HF-layout folder under the
// models directory (id = folder name). A folder that cannot be used is reported with the reason and
// skipped. Free of TF.js: the HTTP thread lists models; worker threads load them (load.ts).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { checkWeights, parameterCount, readModelConfig, type ModelConfig } from './config.ts';
import { ensureTinyModel, GLM_TINY_ID } from './tiny.ts';
import { openWeights } from './weights/checkpoint.ts';
import { loadTokenizer } from './tokenizers/load.ts';
import type { TokenizerKind } from './tokenizers/types.ts';

export interface BaseModelEntry {
  id: string;
  architecture: ModelConfig['architecture'];
  parameterCount: number;
  /** Context length in tokens (config seq_length). */
  contextLength: number;
  tokenizerKind: TokenizerKind;
  /** The HF-layout folder. */
  path: string;
  builtIn: boolean;
}

export interface RegistryProblem {
  /** The folder's name (the id it would have had). */
  id: string;
  path: string;
  reason: string;
}

export interface BaseModelList {
  models: BaseModelEntry[];
  problems: RegistryProblem[];
}

/**
 * Describes one model folder; throws with the reason when it cannot be used. Reads the config and
 * the weights' headers (not the weights) and loads the tokenizer, so a broken one shows here.
 */
export async function describeModel(id: string, dir: string, builtIn = false): Promise<BaseModelEntry> {
  const config = readModelConfig(dir);
  checkWeights(config, openWeights(dir));
  const tokenizer = await loadTokenizer(dir);
  return { id, architecture: config.architecture, parameterCount: parameterCount(config), contextLength: config.seqLength, tokenizerKind: tokenizer.kind, path: dir, builtIn };
}

/**
 * Lists glm-tiny (created in `tinyDir` on first use) and the folders under `modelsDir` (may be absent).
 * A folder named like the built-in is reported, not listed.
 */
export async function listBaseModels(options: { modelsDir?: string; tinyDir: string }): Promise<BaseModelList> {
  const models: BaseModelEntry[] = [await describeModel(GLM_TINY_ID, ensureTinyModel(options.tinyDir), true)];
  const problems: RegistryProblem[] = [];
  const dir = options.modelsDir;
  if (!dir || !existsSync(dir)) return { models, problems };
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (name.startsWith('.') || !statSync(path).isDirectory()) continue;
    if (name === GLM_TINY_ID) {
      problems.push({ id: name, path, reason: `"${GLM_TINY_ID}" is the built-in model's id` });
      continue;
    }
    try {
      models.push(await describeModel(name, path));
    } catch (err) {
      problems.push({ id: name, path, reason: (err as Error).message });
    }
  }
  return { models, problems };
}
