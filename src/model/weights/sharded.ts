// A model split into shards with an index ({"weight_map": {tensor: shard file}}), as Hugging Face writes
// both safetensors (model.safetensors.index.json) and PyTorch (pytorch_model.bin.index.json) checkpoints.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ModelFormatError } from '../errors.ts';
import type { WeightSource } from './checkpoint.ts';

/** What a shard reader offers: one file of named tensors. */
export interface TensorFile {
  has(name: string): boolean;
  info(name: string): { shape: number[] };
  read(name: string): Float32Array;
}

/** Opens every shard the index names (each once) and checks that each tensor is where the index says. */
export function shardedWeights(indexPath: string, open: (path: string) => TensorFile): WeightSource {
  let weightMap: Record<string, string> | undefined;
  try {
    weightMap = (JSON.parse(readFileSync(indexPath, 'utf8')) as { weight_map?: Record<string, string> }).weight_map;
  } catch (err) {
    throw new ModelFormatError(`${indexPath}: not readable JSON (${(err as Error).message})`);
  }
  if (!weightMap || typeof weightMap !== 'object') throw new ModelFormatError(`${indexPath}: no weight_map`);
  const map = weightMap;
  const shards = new Map<string, TensorFile>();
  for (const shard of new Set(Object.values(map))) {
    const path = join(dirname(indexPath), shard);
    if (!existsSync(path)) throw new ModelFormatError(`${indexPath}: shard ${shard} is missing`);
    shards.set(shard, open(path));
  }
  for (const [name, shard] of Object.entries(map)) {
    if (!shards.get(shard)!.has(name)) throw new ModelFormatError(`${indexPath}: tensor "${name}" is not in shard ${shard}`);
  }
  const fileOf = (name: string): TensorFile => {
    const shard = map[name];
    if (shard === undefined) throw new ModelFormatError(`${indexPath}: no tensor named "${name}"`);
    return shards.get(shard)!;
  };
  return {
    location: indexPath,
    names: () => Object.keys(map),
    shape: (n) => fileOf(n).info(n).shape,
    read: (n) => fileOf(n).read(n),
  };
}
