// Splits a byte stream into lines, push by push, holding at most one line of `maxLineBytes` in memory.

/**
 * Receives each line (1-based number) without its terminator (`\n` or `\r\n`). `bytes` is null when the
 * line was longer than the limit: such a line is skipped as it streams past, never buffered. The bytes
 * may be a view of a reused buffer, valid only during the call.
 */
export type LineSink = (lineNumber: number, bytes: Uint8Array | null) => void;

const LF = 0x0a;
const CR = 0x0d;
const BOM = [0xef, 0xbb, 0xbf];
const EMPTY = new Uint8Array(0);
const INITIAL_CARRY_BYTES = 64 * 1024;

export class LineSplitter {
  /** Bytes received, BOM included. */
  bytes = 0;
  /** Lines seen so far; after finish(), the number of lines in the file. */
  lineNumber = 0;
  /** The start of a line that continues in the next chunk. Never grows past maxLineBytes + 1 (room for a CR). */
  private carry: Uint8Array;
  private carryLength = 0;
  /** The current line is over the limit: drop its bytes until the next LF. */
  private skipping = false;
  /** The file's first bytes while they could still be a UTF-8 BOM; null once decided. */
  private head: number[] | null = [];

  constructor(
    private readonly maxLineBytes: number,
    private readonly sink: LineSink,
  ) {
    this.carry = new Uint8Array(Math.min(maxLineBytes + 1, INITIAL_CARRY_BYTES));
  }

  push(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    this.split(this.head ? this.stripBom(chunk) : chunk);
  }

  /** Ends the last line when the file does not end with a newline. */
  finish(): void {
    if (this.head) {
      // Fewer than three bytes, all a prefix of the BOM: they are data after all.
      const head = Uint8Array.from(this.head);
      this.head = null;
      this.split(head);
    }
    if (this.skipping || this.carryLength > 0) this.endLine(EMPTY);
  }

  private split(chunk: Uint8Array): void {
    let start = 0;
    for (;;) {
      const lf = chunk.indexOf(LF, start);
      if (lf === -1) break;
      this.endLine(chunk.subarray(start, lf));
      start = lf + 1;
    }
    if (start < chunk.length) this.append(chunk.subarray(start));
  }

  private stripBom(chunk: Uint8Array): Uint8Array {
    const head = this.head!;
    let i = 0;
    while (head.length < BOM.length && i < chunk.length && chunk[i] === BOM[head.length]) head.push(chunk[i++]);
    if (head.length < BOM.length && i === chunk.length) return EMPTY; // could still be a BOM
    this.head = null;
    const rest = chunk.subarray(i);
    if (head.length === BOM.length) return rest;
    this.split(Uint8Array.from(head)); // not a BOM: those bytes were the start of line 1
    return rest;
  }

  private endLine(tail: Uint8Array): void {
    this.lineNumber++;
    let line: Uint8Array | null;
    if (this.skipping) {
      line = null;
    } else if (this.carryLength === 0) {
      line = tail; // the whole line is in this chunk: no copy
    } else {
      this.append(tail);
      line = this.skipping ? null : this.carry.subarray(0, this.carryLength);
    }
    if (line && line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    if (line && line.length > this.maxLineBytes) line = null;
    this.skipping = false;
    this.carryLength = 0;
    this.sink(this.lineNumber, line);
  }

  private append(part: Uint8Array): void {
    if (this.skipping) return;
    const length = this.carryLength + part.length;
    if (length > this.maxLineBytes + 1) {
      this.skipping = true;
      this.carryLength = 0;
      return;
    }
    if (length > this.carry.length) {
      const grown = new Uint8Array(Math.min(Math.max(length, this.carry.length * 2), this.maxLineBytes + 1));
      grown.set(this.carry.subarray(0, this.carryLength));
      this.carry = grown;
    }
    this.carry.set(part, this.carryLength);
    this.carryLength = length;
  }
}
