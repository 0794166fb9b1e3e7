// One line's bytes to a JSON value, or what is wrong with them in words a person can act on.
import { findJsonSyntaxError } from './json-syntax-error.ts';
import { findByteProblem, isBlankLine } from './line-bytes.ts';
import { decodeUtf8 } from './utf8.ts';

export type JsonLine =
  | { kind: 'blank' }
  | { kind: 'value'; value: unknown }
  | { kind: 'problem'; message: string };

const BLANK: JsonLine = { kind: 'blank' };

/** Parses the lines of one file. */
export class JsonLineParser {
  /**
   * A JSON.parse that throws costs microseconds (V8 builds a message and a stack), so a file of
   * millions of bad lines would take minutes. After a file's first syntax error, every later line is
   * checked by the (throw-free) locator before JSON.parse sees it; good files never pay for that.
   */
  private checkSyntaxFirst = false;

  constructor(private readonly maxDepth: number) {}

  parse(bytes: Uint8Array): JsonLine {
    if (isBlankLine(bytes)) return BLANK;
    const byteProblem = findByteProblem(bytes, this.maxDepth);
    if (byteProblem) return { kind: 'problem', message: byteProblem };
    const text = decodeUtf8(bytes);
    if (typeof text === 'number') return { kind: 'problem', message: `not valid UTF-8 (at byte ${text + 1})` };
    if (this.checkSyntaxFirst) {
      const syntaxError = findJsonSyntaxError(text);
      if (syntaxError) return { kind: 'problem', message: `invalid JSON (${syntaxError})` };
    }
    try {
      return { kind: 'value', value: JSON.parse(text) };
    } catch {
      this.checkSyntaxFirst = true;
      return { kind: 'problem', message: `invalid JSON (${findJsonSyntaxError(text) ?? 'rejected by the JSON parser'})` };
    }
  }
}
