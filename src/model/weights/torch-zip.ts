// The zip container of torch.save (PyTorch ≥ 1.6): where each entry's bytes lie in the file. torch
// writes every entry STORED (uncompressed, its data aligned to 64 bytes), so an entry is a plain byte
// range that can be read in place; only the central directory and local headers are parsed here
// (zip64 included, for archives past 4 GiB). Compressed or encrypted entries are refused.
import { readSync } from 'node:fs';

export interface ZipEntry {
  name: string;
  /** Absolute position of the entry's first data byte. */
  dataOffset: number;
  size: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL_HEADER = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
const ZIP64_EXTRA = 0x0001;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;
// One readSync moves at most 2 GiB - 1; stay well below.
const IO_CHUNK_BYTES = 1 << 30;

/** Reads `length` bytes at `position` of an open file, or throws if the file ends first. */
export function readAt(fd: number, length: number, position: number): Uint8Array {
  const out = new Uint8Array(length);
  readInto(fd, out, position);
  return out;
}

/** Fills `target` from `position` of an open file, or throws if the file ends first. */
export function readInto(fd: number, target: Uint8Array, position: number): void {
  for (let done = 0; done < target.length; ) {
    const n = readSync(fd, target, done, Math.min(IO_CHUNK_BYTES, target.length - done), position + done);
    if (n === 0) throw new Error(`unexpected end of file at byte ${position + done}`);
    done += n;
  }
}

/** The entries of the zip file open as `fd` (`fileSize` bytes), by name. Throws on anything but a well-formed stored archive. */
export function readZipEntries(fd: number, fileSize: number): Map<string, ZipEntry> {
  const directory = findCentralDirectory(fd, fileSize);
  if (directory.offset + directory.size > fileSize) throw new Error('zip central directory lies past the end of the file (truncated?)');
  const bytes = readAt(fd, directory.size, directory.offset);
  const view = new DataView(bytes.buffer);
  const entries = new Map<string, ZipEntry>();
  let pos = 0;
  for (let i = 0; i < directory.count; i++) {
    if (pos + 46 > bytes.length || view.getUint32(pos, true) !== CENTRAL_HEADER) throw new Error(`zip central directory entry ${i} is malformed`);
    const flags = view.getUint16(pos + 8, true);
    const method = view.getUint16(pos + 10, true);
    let compressedSize = view.getUint32(pos + 20, true);
    let size = view.getUint32(pos + 24, true);
    const nameLength = view.getUint16(pos + 28, true);
    const extraLength = view.getUint16(pos + 30, true);
    const commentLength = view.getUint16(pos + 32, true);
    let localOffset = view.getUint32(pos + 42, true);
    const end = pos + 46 + nameLength + extraLength + commentLength;
    if (end > bytes.length) throw new Error(`zip central directory entry ${i} is malformed`);
    const name = new TextDecoder().decode(bytes.subarray(pos + 46, pos + 46 + nameLength));
    // zip64: the fields that overflowed 32 bits are 0xFFFFFFFF and follow in this order in the extra field.
    forEachExtra(view, pos + 46 + nameLength, extraLength, (id, at, length) => {
      if (id !== ZIP64_EXTRA) return;
      let field = at;
      const next = () => {
        if (field + 8 > at + length) throw new Error(`zip entry ${name} has a short zip64 extra field`);
        const value = safeNumber(view.getBigUint64(field, true));
        field += 8;
        return value;
      };
      if (size === 0xffffffff) size = next();
      if (compressedSize === 0xffffffff) compressedSize = next();
      if (localOffset === 0xffffffff) localOffset = next();
    });
    if (flags & 1) throw new Error(`zip entry ${name} is encrypted`);
    if (method !== 0 || compressedSize !== size) {
      throw new Error(`zip entry ${name} is compressed (method ${method}); torch.save stores entries uncompressed — was the checkpoint re-zipped?`);
    }
    entries.set(name, { name, dataOffset: localDataOffset(fd, fileSize, name, localOffset), size });
    pos = end;
  }
  for (const entry of entries.values()) {
    if (entry.dataOffset + entry.size > fileSize) throw new Error(`zip entry ${entry.name} runs past the end of the file (truncated?)`);
  }
  return entries;
}

function findCentralDirectory(fd: number, fileSize: number): { offset: number; size: number; count: number } {
  const tailLength = Math.min(fileSize, EOCD_SIZE + MAX_COMMENT);
  const tailStart = fileSize - tailLength;
  const tail = readAt(fd, tailLength, tailStart);
  const view = new DataView(tail.buffer);
  // The last record whose comment reaches exactly to the end of the file.
  for (let pos = tailLength - EOCD_SIZE; pos >= 0; pos--) {
    if (view.getUint32(pos, true) !== EOCD || pos + EOCD_SIZE + view.getUint16(pos + 20, true) !== tailLength) continue;
    const count = view.getUint16(pos + 10, true);
    const size = view.getUint32(pos + 12, true);
    const offset = view.getUint32(pos + 16, true);
    if (count !== 0xffff && size !== 0xffffffff && offset !== 0xffffffff) return { offset, size, count };
    return zip64Directory(fd, tailStart + pos);
  }
  throw new Error('no zip end-of-central-directory record: not a zip archive, or a truncated one');
}

function zip64Directory(fd: number, eocdPosition: number): { offset: number; size: number; count: number } {
  if (eocdPosition < 20) throw new Error('zip64 locator missing');
  const locator = new DataView(readAt(fd, 20, eocdPosition - 20).buffer);
  if (locator.getUint32(0, true) !== ZIP64_LOCATOR) throw new Error('zip64 locator missing');
  const recordOffset = safeNumber(locator.getBigUint64(8, true));
  if (recordOffset + 56 > eocdPosition) throw new Error('zip64 end-of-central-directory record lies outside the file');
  const record = new DataView(readAt(fd, 56, recordOffset).buffer);
  if (record.getUint32(0, true) !== ZIP64_EOCD) throw new Error('zip64 end-of-central-directory record is malformed');
  return {
    count: safeNumber(record.getBigUint64(32, true)),
    size: safeNumber(record.getBigUint64(40, true)),
    offset: safeNumber(record.getBigUint64(48, true)),
  };
}

/** The data of an entry starts after its local header, whose name and extra field lengths may differ from the central directory's. */
function localDataOffset(fd: number, fileSize: number, name: string, headerOffset: number): number {
  if (headerOffset + 30 > fileSize) throw new Error(`zip entry ${name} has its header past the end of the file (truncated?)`);
  const header = new DataView(readAt(fd, 30, headerOffset).buffer);
  if (header.getUint32(0, true) !== LOCAL_HEADER) throw new Error(`zip entry ${name} has no local header at byte ${headerOffset}`);
  return headerOffset + 30 + header.getUint16(26, true) + header.getUint16(28, true);
}

function forEachExtra(view: DataView, start: number, length: number, visit: (id: number, dataStart: number, dataLength: number) => void): void {
  for (let pos = start; pos + 4 <= start + length; ) {
    const id = view.getUint16(pos, true);
    const size = view.getUint16(pos + 2, true);
    if (pos + 4 + size > start + length) throw new Error('zip extra field is malformed');
    visit(id, pos + 4, size);
    pos += 4 + size;
  }
}

function safeNumber(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`zip field ${value} is too large`);
  return Number(value);
}
