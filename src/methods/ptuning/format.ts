// A P-tuning v2 result in THUDM's layout: prefix_encoder.safetensors (the transformer.prefix_encoder.*
// tensors) beside config.json, the base config with pre_seq_len and prefix_projection set, as THUDM's
// ptuning scripts save a checkpoint. loadPrefix turns such a folder into the prefix a server passes per request.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../../model/config.ts';
import { ModelFormatError } from '../../model/errors.ts';
import type { CausalLanguageModel } from '../../model/language-model.ts';
import { fileWeights } from '../../model/weights/checkpoint.ts';
import { writeSafetensors } from '../../model/weights/safetensors.ts';
import { PrefixEncoder } from './prefix-encoder.ts';

export const PREFIX_FILE = 'prefix_encoder.safetensors';

export function writePrefixFolder(dir: string, encoder: PrefixEncoder, config: ModelConfig): void {
  mkdirSync(dir, { recursive: true });
  const tensors = [...encoder.parameters].map(([name, v]) => ({ name, shape: [...v.shape], data: () => v.dataSync() as Float32Array }));
  writeSafetensors(join(dir, PREFIX_FILE), tensors);
  const width = encoder.shape.projectionWidth;
  const ptuning: Record<string, unknown> = { pre_seq_len: encoder.shape.preSeqLen, prefix_projection: width !== null };
  // THUDM's code has no such key (its MLP is always hidden_size wide); written only for another width
  if (width !== null && width !== config.hiddenSize) ptuning.prefix_hidden_size = width;
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify({ ...config.raw, ...ptuning }, null, 2)}\n`);
}

/** The prefix encoder saved in `dir`, checked against the model and against the folder's config.json when present. */
export function readPrefixFolder(model: CausalLanguageModel, dir: string): PrefixEncoder {
  const path = join(dir, PREFIX_FILE);
  if (!existsSync(path)) throw new ModelFormatError(`${dir}: no ${PREFIX_FILE}`);
  const encoder = PrefixEncoder.read(model.config, fileWeights(path));
  const configPath = join(dir, 'config.json');
  if (existsSync(configPath)) {
    const saved = JSON.parse(readFileSync(configPath, 'utf8')) as { pre_seq_len?: unknown; prefix_projection?: unknown };
    const projection = encoder.shape.projectionWidth !== null;
    if (saved.pre_seq_len !== encoder.shape.preSeqLen || (saved.prefix_projection ?? false) !== projection) {
      encoder.dispose();
      throw new ModelFormatError(`${configPath}: pre_seq_len ${String(saved.pre_seq_len)}, prefix_projection ${String(saved.prefix_projection)} disagree with ${PREFIX_FILE} (${encoder.shape.preSeqLen} slots, projection ${projection})`);
    }
  }
  return encoder;
}

/** The prefix [P, layers·2·g·d] of a saved P-tuning result, for ForwardOptions.prefix / createCache; the caller disposes it. */
export function loadPrefix(model: CausalLanguageModel, dir: string): tf.Tensor2D {
  const encoder = readPrefixFolder(model, dir);
  try {
    return encoder.forward();
  } finally {
    encoder.dispose();
  }
}
