// PyTorch checkpoints as THUDM ships ChatGLM-6B: `pytorch_model.bin`, or shards
// `pytorch_model-0000k-of-0000N.bin` listed by `pytorch_model.bin.index.json` ({metadata, weight_map},
// the same index as for safetensors). Each file is torch.save's zip archive (PyTorch ≥ 1.6):
//   <archive>/data.pkl     the state dict, pickled: {name: _rebuild_tensor_v2(storage, offset, size, stride, …)}
//                          where each storage is a persistent id ('storage', torch.HalfStorage, key, location, numel)
//   <archive>/data/<key>   each storage's raw little-endian bytes
//   <archive>/byteorder    "little" (absent in older files, which are little-endian)
// The pickle goes through a restricted unpickler that accepts only the globals a state dict needs
// (ALLOWED_GLOBALS) and runs nothing. Opening reads the zip directory and data.pkl only; each tensor is
// read from the file when asked for, so at most one tensor is in memory, as with safetensors. Float32,
// float16 and bfloat16 tensors are read as float32, honouring storage offset, shape and strides.
import { closeSync, existsSync, fstatSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ModelFormatError } from '../errors.ts';
import type { WeightSource } from './checkpoint.ts';
import { BYTES_PER_ELEMENT, bf16ToF32, f16ToF32, type StorageDtype } from './dtypes.ts';
import { shardedWeights } from './sharded.ts';
import { PickleGlobal, unpickle } from './torch-unpickler.ts';
import { readAt, readInto, readZipEntries, type ZipEntry } from './torch-zip.ts';

export const TORCH_SINGLE_FILE = 'pytorch_model.bin';
export const TORCH_INDEX_FILE = 'pytorch_model.bin.index.json';

// A state dict's pickle is a few kilobytes per hundred tensors; a corrupt size must not allocate gigabytes.
const MAX_PICKLE_BYTES = 100_000_000;

export interface TorchStoredTensor {
  dtype: StorageDtype;
  shape: number[];
  /** Strides in elements, as torch stores them. */
  stride: number[];
  /** Offset of the first element in the storage, in elements. */
  storageOffset: number;
  /** The zip entry holding the storage's bytes. */
  storage: ZipEntry;
}

/** A storage as data.pkl refers to it (a persistent id). */
class StorageRef {
  constructor(
    readonly key: string,
    /** torch's name for the element type, e.g. float16. */
    readonly dtype: string,
    readonly numel: number,
  ) {}
}

/** What _rebuild_tensor_v2 stands for here: where a tensor's elements lie. */
class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly storageOffset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

// torch's storage classes and the element type each one's bytes hold; only the float ones load.
const STORAGE_CLASSES: ReadonlyArray<[string, string]> = [
  ['torch.FloatStorage', 'float32'],
  ['torch.HalfStorage', 'float16'],
  ['torch.BFloat16Storage', 'bfloat16'],
  ['torch.DoubleStorage', 'float64'],
  ['torch.LongStorage', 'int64'],
  ['torch.IntStorage', 'int32'],
  ['torch.ShortStorage', 'int16'],
  ['torch.CharStorage', 'int8'],
  ['torch.ByteStorage', 'uint8'],
  ['torch.BoolStorage', 'bool'],
  ['torch.UntypedStorage', 'uint8'], // PyTorch 2 saves a bare storage this way
];
const LOADABLE: Readonly<Record<string, StorageDtype>> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' };

const storageDtypes = new Map<PickleGlobal, string>(STORAGE_CLASSES.map(([name, dtype]) => [new PickleGlobal(name), dtype]));

/** Everything data.pkl may name: the dict type, the tensor rebuilders and the storage classes. */
const ALLOWED_GLOBALS: ReadonlyMap<string, PickleGlobal> = new Map([
  ...[...storageDtypes.keys()].map((g): [string, PickleGlobal] => [g.name, g]),
  [
    'collections.OrderedDict',
    new PickleGlobal('collections.OrderedDict', (args) => {
      if (args.length !== 0) throw new Error('collections.OrderedDict is called with arguments');
      return new Map();
    }),
  ],
  [
    'torch._utils._rebuild_tensor_v2',
    // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    new PickleGlobal('torch._utils._rebuild_tensor_v2', (args) => {
      const [storage, storageOffset, shape, stride] = args;
      if (!(storage instanceof StorageRef) || args.length < 6 || args.length > 7) {
        throw new Error('torch._utils._rebuild_tensor_v2 is called without a storage and its six arguments');
      }
      if (!isCount(storageOffset) || !isCounts(shape) || !isCounts(stride) || shape.length !== stride.length) {
        throw new Error('torch._utils._rebuild_tensor_v2 is called with a malformed offset, size or stride');
      }
      return new TensorRef(storage, storageOffset, shape, stride);
    }),
  ],
  [
    'torch._utils._rebuild_parameter',
    // (data, requires_grad, backward_hooks): an nn.Parameter saved as itself is its tensor here
    new PickleGlobal('torch._utils._rebuild_parameter', (args) => {
      if (!(args[0] instanceof TensorRef)) throw new Error('torch._utils._rebuild_parameter is called without a tensor');
      return args[0];
    }),
  ],
]);

/** One torch.save zip file, opened by reading its directory and data.pkl. */
export class TorchBinFile {
  private constructor(
    readonly path: string,
    private readonly tensors: Map<string, TorchStoredTensor>,
  ) {}

  static open(path: string): TorchBinFile {
    const fd = openSync(path, 'r');
    try {
      return new TorchBinFile(path, readStateDict(fd, fstatSync(fd).size));
    } catch (err) {
      if (err instanceof ModelFormatError) throw err;
      throw new ModelFormatError(`${path}: ${(err as Error).message}`, { cause: err });
    } finally {
      closeSync(fd);
    }
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  info(name: string): TorchStoredTensor {
    const t = this.tensors.get(name);
    if (!t) throw new ModelFormatError(`${this.path}: no tensor named "${name}"`);
    return t;
  }

  /** Reads one tensor as float32 in row-major order, converting F16/BF16. */
  read(name: string): Float32Array {
    const t = this.info(name);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count === 0) return new Float32Array(0);
    const itemSize = BYTES_PER_ELEMENT[t.dtype];
    const newElements = (n: number) => (t.dtype === 'F32' ? new Float32Array(n) : new Uint16Array(n));
    const fd = openSync(this.path, 'r');
    let elements: Float32Array | Uint16Array;
    try {
      const first = t.storage.dataOffset + t.storageOffset * itemSize;
      if (isContiguous(t.shape, t.stride)) {
        elements = newElements(count); // read straight into the result: one copy, aligned
        readInto(fd, new Uint8Array(elements.buffer), first);
      } else {
        const span = newElements(lastIndex(t.shape, t.stride) + 1);
        readInto(fd, new Uint8Array(span.buffer), first);
        elements = gather(span, t.shape, t.stride, newElements(count));
      }
    } finally {
      closeSync(fd);
    }
    if (elements instanceof Float32Array) return elements;
    return t.dtype === 'BF16' ? bf16ToF32(elements) : f16ToF32(elements);
  }
}

function readStateDict(fd: number, fileSize: number): Map<string, TorchStoredTensor> {
  const magic = readAt(fd, Math.min(4, fileSize), 0);
  if (magic.length < 4 || magic[0] !== 0x50 || magic[1] !== 0x4b) {
    throw new Error("not a torch.save zip archive (PyTorch's pre-1.6 legacy format is not supported: re-save it with a newer PyTorch, or convert it to safetensors)");
  }
  const entries = readZipEntries(fd, fileSize);
  const pickles = [...entries.values()].filter((e) => /^[^/]+\/data\.pkl$/.test(e.name));
  if (pickles.length !== 1) throw new Error(`expected one <archive>/data.pkl in the zip, found ${pickles.length}`);
  const archive = pickles[0].name.slice(0, -'/data.pkl'.length);
  const byteOrder = entries.get(`${archive}/byteorder`);
  if (byteOrder !== undefined) {
    const order = new TextDecoder().decode(readAt(fd, Math.min(byteOrder.size, 16), byteOrder.dataOffset));
    if (order !== 'little') throw new Error(`the storages are ${JSON.stringify(order)}-endian; only little-endian checkpoints are supported`);
  }
  if (pickles[0].size > MAX_PICKLE_BYTES) throw new Error(`data.pkl is ${pickles[0].size} bytes, more than a state dict needs`);

  const storages = new Map<string, StorageRef>();
  const stateDict = unpickle(readAt(fd, pickles[0].size, pickles[0].dataOffset), {
    globals: ALLOWED_GLOBALS,
    persistentLoad(pid) {
      if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage') throw new Error('data.pkl has a persistent id that is not a storage');
      const [, storageClass, key, , numel] = pid;
      const dtype = storageClass instanceof PickleGlobal ? storageDtypes.get(storageClass) : undefined;
      if (dtype === undefined || typeof key !== 'string' || !isCount(numel)) throw new Error(`data.pkl has a malformed storage id for storage ${String(key)}`);
      const known = storages.get(key);
      if (known !== undefined && (known.dtype !== dtype || known.numel !== numel)) throw new Error(`storage ${key} is named with two different types or sizes`);
      const storage = known ?? new StorageRef(key, dtype, numel);
      storages.set(key, storage);
      return storage;
    },
  });

  if (!(stateDict instanceof Map)) throw new Error('data.pkl does not hold a state dict (a dict of tensors)');
  const tensors = new Map<string, TorchStoredTensor>();
  for (const [name, value] of stateDict) {
    if (typeof name !== 'string' || !(value instanceof TensorRef)) throw new Error(`state dict entry ${JSON.stringify(name)} is not a named tensor`);
    tensors.set(name, storedTensor(name, value, entries, archive));
  }
  return tensors;
}

function storedTensor(name: string, ref: TensorRef, entries: Map<string, ZipEntry>, archive: string): TorchStoredTensor {
  const dtype = LOADABLE[ref.storage.dtype];
  if (dtype === undefined) {
    throw new Error(`tensor "${name}" has dtype ${ref.storage.dtype}; only float32, float16 and bfloat16 are supported`);
  }
  const storage = entries.get(`${archive}/data/${ref.storage.key}`);
  if (storage === undefined) throw new Error(`tensor "${name}": storage ${ref.storage.key} is missing from the archive`);
  if (storage.size !== ref.storage.numel * BYTES_PER_ELEMENT[dtype]) {
    throw new Error(`tensor "${name}": storage ${ref.storage.key} has ${storage.size} bytes, not ${ref.storage.numel} ${ref.storage.dtype} elements`);
  }
  const empty = ref.shape.includes(0);
  if (!empty && ref.storageOffset + lastIndex(ref.shape, ref.stride) >= ref.storage.numel) {
    throw new Error(`tensor "${name}" of shape [${ref.shape}] and stride [${ref.stride}] at offset ${ref.storageOffset} reaches past its storage of ${ref.storage.numel} elements`);
  }
  return { dtype, shape: ref.shape, stride: ref.stride, storageOffset: ref.storageOffset, storage };
}

/** Row-major layout, ignoring the stride of dimensions of size 1 (torch does the same). */
function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

/** The element index, relative to the first, of a non-empty tensor's last element. */
function lastIndex(shape: readonly number[], stride: readonly number[]): number {
  return shape.reduce((sum, size, d) => sum + (size - 1) * stride[d], 0);
}

/** Copies a strided view out of `span` (which starts at the view's first element) in row-major order. */
function gather<T extends Float32Array | Uint16Array>(span: T, shape: readonly number[], stride: readonly number[], out: T): T {
  const index = new Array<number>(shape.length).fill(0);
  let source = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = span[source];
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d]++;
      source += stride[d];
      if (index[d] < shape[d]) break;
      source -= stride[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}

function isCount(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0;
}

function isCounts(value: unknown): value is number[] {
  return Array.isArray(value) && value.every(isCount);
}

/** A single .bin file as a weight source. */
export function torchFileWeights(path: string): WeightSource {
  const file = TorchBinFile.open(path);
  return { location: path, names: () => file.names(), shape: (n) => file.info(n).shape, read: (n) => file.read(n) };
}

/** The PyTorch weights of a model folder (sharded index first, as transformers does), or a .bin path. */
export function openTorchWeights(path: string): WeightSource {
  if (statSync(path).isFile()) return torchFileWeights(path);
  const index = join(path, TORCH_INDEX_FILE);
  if (existsSync(index)) return shardedWeights(index, (p) => TorchBinFile.open(p));
  const single = join(path, TORCH_SINGLE_FILE);
  if (existsSync(single)) return torchFileWeights(single);
  throw new ModelFormatError(`${path}: no ${TORCH_SINGLE_FILE} or ${TORCH_INDEX_FILE}`);
}
