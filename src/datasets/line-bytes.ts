// Checks on a line's raw bytes, made before decoding and parsing it.

const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const NUL = 0x00;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** Empty or only spaces, tabs and carriage returns. */
export function isBlankLine(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b !== SPACE && b !== TAB && b !== CR) return false;
  }
  return true;
}

/**
 * Finds a NUL byte or nesting deeper than `maxDepth` in one pass, before JSON.parse sees the line: a
 * deeply nested value would otherwise be built (and later walked) at full depth. Brackets inside JSON
 * strings do not count. Returns what is wrong, or undefined.
 */
export function findByteProblem(bytes: Uint8Array, maxDepth: number): string | undefined {
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === NUL) return `contains a NUL byte (at byte ${i + 1})`;
    if (inString) {
      if (escaped) escaped = false;
      else if (b === BACKSLASH) escaped = true;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) {
      inString = true;
    } else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
      if (++depth > maxDepth) return `JSON nested more than ${maxDepth} levels deep (at byte ${i + 1})`;
    } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
      depth--;
    }
  }
  return undefined;
}
