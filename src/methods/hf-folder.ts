// Writes a model as a Hugging Face-layout folder that loadModel (and THUDM's code) reads back: the
// weights through the checkpoint writer, config.json, and the base folder's other files — tokenizer,
// generation config, THUDM's remote code — so the folder is usable on its own.
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeWeights } from '../model/weights/checkpoint.ts';
import type { TensorToWrite } from '../model/weights/safetensors.ts';

// Weight files and their indexes (safetensors and torch) are the base's own and never copied.
const WEIGHT_FILE = /\.(safetensors|bin|pt|pth)(\.index\.json)?$/;

export function writeHfFolder(dir: string, tensors: readonly TensorToWrite[], config: Record<string, unknown>, baseDir?: string): void {
  mkdirSync(dir, { recursive: true });
  if (baseDir) {
    for (const entry of readdirSync(baseDir, { withFileTypes: true })) {
      if (!entry.isFile() || entry.name.startsWith('.') || entry.name === 'config.json' || WEIGHT_FILE.test(entry.name)) continue;
      copyFileSync(join(baseDir, entry.name), join(dir, entry.name));
    }
  }
  writeWeights(dir, tensors);
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
}
