// A model folder's weights as Hugging Face lays them out: one `model.safetensors`, or shards
// `model-00001-of-0000N.safetensors` listed by `model.safetensors.index.json` ({metadata, weight_map});
// folders with PyTorch .bin files only are read through ./torch-pickle.ts.
import { existsSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { ModelFormatError } from '../errors.ts';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from './safetensors.ts';
import { BYTES_PER_ELEMENT, type StorageDtype } from './dtypes.ts';
import { openTorchWeights, TORCH_INDEX_FILE, TORCH_SINGLE_FILE } from './torch-pickle.ts';
import { shardedWeights } from './sharded.ts';

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

/** Named float32 tensors read one at a time: a checkpoint on disk, or weights made in memory. */
export interface WeightSource {
  /** Where the weights come from, for error messages. */
  readonly location: string;
  names(): string[];
  shape(name: string): number[];
  read(name: string): Float32Array;
}

/** A single safetensors file as a weight source. */
export function fileWeights(path: string): WeightSource {
  const file = SafetensorsFile.open(path);
  return { location: path, names: () => file.names(), shape: (n) => file.info(n).shape, read: (n) => file.read(n) };
}

/** Tensors produced on demand (random initialisation, a merged model) as a weight source. */
export function memoryWeights(location: string, tensors: readonly TensorToWrite[]): WeightSource {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const get = (name: string): TensorToWrite => {
    const t = byName.get(name);
    if (!t) throw new ModelFormatError(`${location}: no tensor named "${name}"`);
    return t;
  };
  return { location, names: () => [...byName.keys()], shape: (n) => get(n).shape, read: (n) => get(n).data() };
}

/**
 * Opens the weights of a model folder as transformers looks for them: safetensors (sharded index first),
 * else PyTorch .bin files (THUDM ships ChatGLM-6B only so); or the path of one such file.
 */
export function openWeights(path: string): WeightSource {
  if (statSync(path).isFile()) return path.endsWith('.bin') ? openTorchWeights(path) : fileWeights(path);
  const index = join(path, INDEX_FILE);
  if (existsSync(index)) return shardedWeights(index, (p) => SafetensorsFile.open(p));
  const single = join(path, SINGLE_FILE);
  if (existsSync(single)) return fileWeights(single);
  if (existsSync(join(path, TORCH_INDEX_FILE)) || existsSync(join(path, TORCH_SINGLE_FILE))) return openTorchWeights(path);
  throw new ModelFormatError(`${path}: no ${SINGLE_FILE} or ${INDEX_FILE} (nor ${TORCH_SINGLE_FILE} or ${TORCH_INDEX_FILE})`);
}

export interface CheckpointWriteOptions {
  dtype?: StorageDtype;
  /** Start a new shard before a file would exceed this many bytes of tensor data (default: one file). */
  maxShardBytes?: number;
}

/**
 * Writes tensors into a model folder: `model.safetensors`, or shards plus the index when they exceed
 * `maxShardBytes`. Tensors are grouped in name order; each is read from its source only when written.
 */
export function writeWeights(dir: string, tensors: readonly TensorToWrite[], options: CheckpointWriteOptions = {}): void {
  const dtype = options.dtype ?? 'F32';
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const bytesOf = (t: TensorToWrite): number => t.shape.reduce((a, b) => a * b, 1) * BYTES_PER_ELEMENT[dtype];
  const shards: TensorToWrite[][] = [[]];
  let shardBytes = 0;
  for (const t of sorted) {
    const size = bytesOf(t);
    if (options.maxShardBytes !== undefined && shardBytes > 0 && shardBytes + size > options.maxShardBytes) {
      shards.push([]);
      shardBytes = 0;
    }
    shards[shards.length - 1].push(t);
    shardBytes += size;
  }
  if (shards.length === 1) {
    writeSafetensors(join(dir, SINGLE_FILE), shards[0], { dtype });
    return;
  }
  const pad = (n: number): string => String(n).padStart(5, '0');
  const weightMap: Record<string, string> = {};
  shards.forEach((shard, i) => {
    const file = `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`;
    writeSafetensors(join(dir, file), shard, { dtype });
    for (const t of shard) weightMap[t.name] = file;
  });
  const totalSize = sorted.reduce((sum, t) => sum + bytesOf(t), 0);
  const indexPath = join(dir, INDEX_FILE);
  writeFileSync(`${indexPath}.tmp`, JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2));
  renameSync(`${indexPath}.tmp`, indexPath);
}
