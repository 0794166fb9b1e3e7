// One dataset file's lines to conversations: the per-line checks shared by upload validation and the
// trainer's reader, and the rule that every line of a file is in the file's one format.
import type { ChatMessage } from '../model/chat.ts';
import { LineProblem, describe, isObject } from './formats/fields.ts';
import { detectFormat, FORMATS, type DatasetFormat } from './formats/index.ts';
import { JsonLineParser } from './json-line.ts';

export interface DatasetLimits {
  /** Longest line accepted, in bytes without its line terminator. */
  maxLineBytes: number;
  /** Deepest nesting of JSON objects and arrays accepted in a line. */
  maxDepth: number;
}

/** Defaults: 1 MiB lines, 64 levels of nesting (the formats themselves need at most 5). */
export function resolveLimits(options: Partial<DatasetLimits>): DatasetLimits {
  return { maxLineBytes: options.maxLineBytes ?? 1024 * 1024, maxDepth: options.maxDepth ?? 64 };
}

export type LineResult =
  | { kind: 'blank' }
  | { kind: 'example'; messages: ChatMessage[] }
  /** `message` is whole: "line 12: messages[2].content is empty". */
  | { kind: 'invalid'; message: string };

const BLANK: LineResult = { kind: 'blank' };

export class ExampleParser {
  /** The file's format: that of the first line whose format could be told. */
  format: DatasetFormat | undefined;
  private formatLine = 0;
  private readonly json: JsonLineParser;

  constructor(private readonly limits: DatasetLimits) {
    this.json = new JsonLineParser(limits.maxDepth);
  }

  /** `bytes` is null for a line over the length limit (see LineSplitter). Blank lines are skipped. */
  parse(lineNumber: number, bytes: Uint8Array | null): LineResult {
    if (bytes === null) return invalid(lineNumber, `longer than the limit of ${this.limits.maxLineBytes} bytes`);
    const json = this.json.parse(bytes);
    if (json.kind === 'blank') return BLANK;
    if (json.kind === 'problem') return invalid(lineNumber, json.message);
    const record = json.value;
    if (!isObject(record)) return invalid(lineNumber, `expected a JSON object, got ${describe(record)}`);
    const format = detectFormat(record, this.format);
    if (typeof format !== 'string') return invalid(lineNumber, format.problem);
    if (this.format === undefined) {
      this.format = format;
      this.formatLine = lineNumber;
    } else if (format !== this.format) {
      return invalid(
        lineNumber,
        `looks like ${FORMATS[format].label} but earlier lines are ${FORMATS[this.format].label} (from line ${this.formatLine})`,
      );
    }
    try {
      return { kind: 'example', messages: FORMATS[format].toMessages(record) };
    } catch (error) {
      if (error instanceof LineProblem) return invalid(lineNumber, error.message);
      throw error;
    }
  }
}

function invalid(lineNumber: number, problem: string): LineResult {
  return { kind: 'invalid', message: `line ${lineNumber}: ${problem}` };
}

/** What is wrong with the file as a whole once every line is read, if anything. */
export function fileProblem(bytes: number, examples: number): string | undefined {
  if (bytes === 0) return 'the file is empty (0 bytes)';
  if (examples === 0) return 'the file has no examples';
  return undefined;
}
