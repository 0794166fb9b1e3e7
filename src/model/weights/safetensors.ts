// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__}, then the raw
// little-endian tensor bytes, offsets relative to the end of the header.
// Reading is tensor by tensor from the file (never the whole file in memory); F16/BF16 widen to float32.
import { closeSync, openSync, writeSync, fstatSync, renameSync, rmSync } from 'node:fs';
import { ModelFormatError } from '../errors.ts';
import { BYTES_PER_ELEMENT, bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, type StorageDtype } from './dtypes.ts';
import { readInto } from './torch-zip.ts';

// safetensors' own limit, so that a corrupt length never makes us allocate gigabytes.
const MAX_HEADER_BYTES = 100_000_000;
// One writeSync moves at most 2 GiB - 1; stay well below.
const IO_CHUNK_BYTES = 1 << 30;

export interface StoredTensor {
  dtype: StorageDtype;
  shape: number[];
  /** Absolute position of the first byte in the file. */
  byteOffset: number;
  byteLength: number;
}

function isStorageDtype(d: unknown): d is StorageDtype {
  return d === 'F32' || d === 'F16' || d === 'BF16';
}

function writeFully(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, Math.min(IO_CHUNK_BYTES, bytes.length - done));
}

/** One .safetensors file, opened by reading its header only. */
export class SafetensorsFile {
  readonly metadata: Readonly<Record<string, string>>;
  private readonly tensors: Map<string, StoredTensor>;

  private constructor(readonly path: string, tensors: Map<string, StoredTensor>, metadata: Record<string, string>) {
    this.tensors = tensors;
    this.metadata = metadata;
  }

  static open(path: string): SafetensorsFile {
    const fd = openSync(path, 'r');
    try {
      const fileSize = fstatSync(fd).size;
      const lengthBytes = new Uint8Array(8);
      if (fileSize < 8) throw new ModelFormatError(`${path}: too short for a safetensors file`);
      readInto(fd, lengthBytes, 0);
      const headerLength = Number(new DataView(lengthBytes.buffer).getBigUint64(0, true));
      if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > fileSize) {
        throw new ModelFormatError(`${path}: header length ${headerLength} does not fit the file (${fileSize} bytes)`);
      }
      const headerBytes = new Uint8Array(headerLength);
      readInto(fd, headerBytes, 8);
      let header: Record<string, unknown>;
      try {
        header = JSON.parse(new TextDecoder().decode(headerBytes)) as Record<string, unknown>;
      } catch (err) {
        throw new ModelFormatError(`${path}: header is not JSON (${(err as Error).message})`);
      }
      const dataStart = 8 + headerLength;
      const tensors = parseHeader(path, header, dataStart, fileSize);
      const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
      return new SafetensorsFile(path, tensors, metadata);
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

  info(name: string): StoredTensor {
    const t = this.tensors.get(name);
    if (!t) throw new ModelFormatError(`${this.path}: no tensor named "${name}"`);
    return t;
  }

  /** Reads one tensor as float32, converting F16/BF16. */
  read(name: string): Float32Array {
    const t = this.info(name);
    const count = t.byteLength / BYTES_PER_ELEMENT[t.dtype];
    const fd = openSync(this.path, 'r');
    try {
      if (t.dtype === 'F32') {
        const out = new Float32Array(count); // read straight into the result: one copy, aligned
        readInto(fd, new Uint8Array(out.buffer), t.byteOffset);
        return out;
      }
      const half = new Uint16Array(count);
      readInto(fd, new Uint8Array(half.buffer), t.byteOffset);
      return t.dtype === 'BF16' ? bf16ToF32(half) : f16ToF32(half);
    } finally {
      closeSync(fd);
    }
  }
}

function parseHeader(path: string, header: Record<string, unknown>, dataStart: number, fileSize: number): Map<string, StoredTensor> {
  const tensors = new Map<string, StoredTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!isStorageDtype(dtype)) {
      throw new ModelFormatError(`${path}: tensor "${name}" has dtype ${String(dtype)}; only F32, F16 and BF16 are supported`);
    }
    const validShape = Array.isArray(shape) && shape.every((n) => Number.isInteger(n) && n >= 0);
    const validOffsets = Array.isArray(offsets) && offsets.length === 2 && offsets.every((n) => Number.isInteger(n) && n >= 0);
    if (!validShape || !validOffsets) throw new ModelFormatError(`${path}: tensor "${name}" has a malformed shape or data_offsets`);
    const [begin, end] = offsets as [number, number];
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== elements * BYTES_PER_ELEMENT[dtype] || dataStart + end > fileSize) {
      throw new ModelFormatError(`${path}: tensor "${name}" data_offsets [${begin}, ${end}] do not match shape [${shape}] ${dtype} or the file size`);
    }
    tensors.set(name, { dtype, shape: shape as number[], byteOffset: dataStart + begin, byteLength: end - begin });
  }
  return tensors;
}

/** A tensor to write; `data` is called once, when its turn comes, so at most one is in memory. */
export interface TensorToWrite {
  name: string;
  shape: number[];
  data: () => Float32Array;
}

export interface WriteOptions {
  /** Storage type for every tensor (float32 data is rounded to nearest even). Default F32. */
  dtype?: StorageDtype;
  metadata?: Record<string, string>;
}

/**
 * Writes a .safetensors file laid out as torch/safetensors write it: tensors in name order, compact
 * JSON header with `__metadata__` last, padded with spaces to a multiple of 8. Written to a temporary
 * name and renamed, so a reader never sees half a file.
 */
export function writeSafetensors(path: string, tensors: readonly TensorToWrite[], options: WriteOptions = {}): void {
  const dtype = options.dtype ?? 'F32';
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const t of sorted) {
    if (t.name in header || t.name === '__metadata__') throw new Error(`duplicate or reserved tensor name "${t.name}"`);
    const byteLength = t.shape.reduce((a, b) => a * b, 1) * BYTES_PER_ELEMENT[dtype];
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + byteLength] };
    offset += byteLength;
  }
  header.__metadata__ = options.metadata ?? { format: 'pt' };
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const jsonBytes = Buffer.from(json, 'utf8');
  const lengthBytes = Buffer.alloc(8);
  lengthBytes.writeBigUInt64LE(BigInt(jsonBytes.length));

  const temp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  let fd: number | undefined = openSync(temp, 'w');
  try {
    writeFully(fd, lengthBytes);
    writeFully(fd, jsonBytes);
    for (const t of sorted) {
      const values = t.data();
      const expected = t.shape.reduce((a, b) => a * b, 1);
      if (values.length !== expected) throw new Error(`tensor "${t.name}": ${values.length} values for shape [${t.shape}]`);
      const stored = dtype === 'F32' ? values : dtype === 'BF16' ? f32ToBf16(values) : f32ToF16(values);
      writeFully(fd, new Uint8Array(stored.buffer, stored.byteOffset, stored.byteLength));
    }
    closeSync(fd);
    fd = undefined;
    renameSync(temp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(temp, { force: true });
    throw err;
  }
}
