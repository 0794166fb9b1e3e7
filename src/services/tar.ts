// A tar archive (POSIX ustar) streamed from its members' streams, never held in memory: a 512-byte
// header per file, the bytes, zero padding to a 512-byte boundary, and two zero blocks at the end.
// Its size is known before the first byte, so downloads can send Content-Length.
import { Readable } from 'node:stream';

const BLOCK = 512;

export interface TarMember {
  /** Path inside the archive, '/'-separated, at most 255 bytes (ustar: 155-byte prefix + 100-byte name). */
  name: string;
  size: number;
  modified: Date;
  open(): Promise<Readable>;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** The ustar header of a regular file. */
export function tarHeader(name: string, size: number, modified: Date): Buffer {
  const header = Buffer.alloc(BLOCK);
  let prefix = '';
  let base = name;
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155);
    if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100 || Buffer.byteLength(name.slice(0, cut)) > 155) throw new Error(`tar member name too long: ${name}`);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
  }
  header.write(base, 0, 100, 'utf8');
  header.write(octal(0o644, 8), 100, 'ascii'); // mode
  header.write(octal(0, 8), 108, 'ascii'); // uid
  header.write(octal(0, 8), 116, 'ascii'); // gid
  header.write(octal(size, 12), 124, 'ascii');
  header.write(octal(Math.floor(modified.getTime() / 1000), 12), 136, 'ascii');
  header.write('        ', 148, 'ascii'); // checksum counts as spaces while it is computed
  header.write('0', 156, 'ascii'); // regular file
  header.write('ustar\0', 257, 'ascii');
  header.write('00', 263, 'ascii');
  header.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(octal(sum, 7) + ' ', 148, 'ascii');
  return header;
}

const padding = (size: number) => (BLOCK - (size % BLOCK)) % BLOCK;

export function tarSize(members: readonly Pick<TarMember, 'size'>[]): number {
  return members.reduce((sum, m) => sum + BLOCK + m.size + padding(m.size), 2 * BLOCK);
}

/** The archive as a stream; a member whose stream is not exactly `size` bytes fails it. */
export function tarStream(members: readonly TarMember[]): Readable {
  async function* archive(): AsyncGenerator<Buffer> {
    for (const member of members) {
      yield tarHeader(member.name, member.size, member.modified);
      let written = 0;
      for await (const chunk of await member.open()) {
        written += (chunk as Buffer).length;
        if (written > member.size) throw new Error(`${member.name} is longer than its listed ${member.size} bytes`);
        yield chunk as Buffer;
      }
      if (written !== member.size) throw new Error(`${member.name} ended after ${written} of its ${member.size} bytes`);
      if (padding(member.size)) yield Buffer.alloc(padding(member.size));
    }
    yield Buffer.alloc(2 * BLOCK);
  }
  return Readable.from(archive(), { objectMode: false });
}
