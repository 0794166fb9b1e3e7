// Base models available to the service: the built-in glm-tiny plus every HF-layout folder under the
// models directory (id = folder name). A folder that cannot be used is reported with the reason and
// skipped. Free of TF.js: the HTTP thread lists models; worker threads load them (load.ts).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { checkWeights, parameterCount, readModelConfig, type ModelConfig } from './config.ts';
import { ensureTinyModel, GLM_TINY_ID } from './tiny.ts';
import { openWeights } from './weights/checkpoint.ts';
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
 * The tokenizer a folder declares, the way THUDM's repos do: tokenizer_config.json's tokenizer_class
 * with tokenizer.model (ChatGLMTokenizer: SentencePiece, ChatGLM4Tokenizer: tiktoken ranks), our byte
 * tokenizer class, or a tokenizer.json.
 */
export function tokenizerKind(dir: string): TokenizerKind {
  const configPath = join(dir, 'tokenizer_config.json');
  const tokenizerClass = existsSync(configPath) ? (JSON.parse(readFileSync(configPath, 'utf8')) as { tokenizer_class?: unknown }).tokenizer_class : undefined;
  const hasModelFile = existsSync(join(dir, 'tokenizer.model'));
  if (tokenizerClass === 'GlmTuneByteTokenizer') return 'byte';
  if (tokenizerClass === 'ChatGLMTokenizer' && hasModelFile) return 'chatglm-sentencepiece';
  if (tokenizerClass === 'ChatGLM4Tokenizer' && hasModelFile) return 'glm4-tiktoken';
  if (existsSync(join(dir, 'tokenizer.json'))) return 'hf-tokenizer-json';
  throw new Error(`no tokenizer: tokenizer_config.json tokenizer_class ${JSON.stringify(tokenizerClass ?? null)} with${hasModelFile ? '' : 'out'} tokenizer.model, and no tokenizer.json`);
}

/** Describes one model folder; throws with the reason when it cannot be used. */
export function describeModel(id: string, dir: string, builtIn = false): BaseModelEntry {
  const config = readModelConfig(dir);
  checkWeights(config, openWeights(dir)); // headers only: a missing, corrupt or mismatched weights file shows here
  return { id, architecture: config.architecture, parameterCount: parameterCount(config), contextLength: config.seqLength, tokenizerKind: tokenizerKind(dir), path: dir, builtIn };
}

/**
 * Lists glm-tiny (created in `tinyDir` on first use) and the folders under `modelsDir` (may be absent).
 * A folder named like the built-in is reported, not listed.
 */
export function listBaseModels(options: { modelsDir?: string; tinyDir: string }): BaseModelList {
  const models: BaseModelEntry[] = [describeModel(GLM_TINY_ID, ensureTinyModel(options.tinyDir), true)];
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
      models.push(describeModel(name, path));
    } catch (err) {
      problems.push({ id: name, path, reason: (err as Error).message });
    }
  }
  return { models, problems };
}
