// One line's bytes to a JSON value, or what is wrong with them in words a person can act on.
import { findJsonSyntaxError } from './json-syntax-error.ts';
import { findByteProblem, isBlankLine } from './line-bytes.ts';
import { decodeUtf8, firstInvalidUtf8Byte } from './utf8.ts';

export type JsonLine =
  | { kind: 'blank' }
  | { kind: 'value'; value: unknown }
  | { kind: 'problem'; message: string };

const BLANK: JsonLine = { kind: 'blank' };

export function parseJsonLine(bytes: Uint8Array, maxDepth: number): JsonLine {
  if (isBlankLine(bytes)) return BLANK;
  const byteProblem = findByteProblem(bytes, maxDepth);
  if (byteProblem) return { kind: 'problem', message: byteProblem };
  const text = decodeUtf8(bytes);
  if (text === undefined) {
    return { kind: 'problem', message: `not valid UTF-8 (at byte ${firstInvalidUtf8Byte(bytes) + 1})` };
  }
  try {
    return { kind: 'value', value: JSON.parse(text) };
  } catch {
    return { kind: 'problem', message: `invalid JSON (${findJsonSyntaxError(text) ?? 'rejected by the JSON parser'})` };
  }
}
