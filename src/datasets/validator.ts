// Validation of a training file in one streaming pass, fed the same chunks the upload streams to
// storage. Memory stays bounded whatever the file: one line of at most maxLineBytes, the first
// maxErrors messages and a few counters.
import { ExampleParser, fileProblem, resolveLimits, type DatasetLimits } from './example-parser.ts';
import type { DatasetFormat } from './formats/index.ts';
import { LineSplitter } from './line-splitter.ts';

export interface ValidatorOptions extends Partial<DatasetLimits> {
  /** How many error messages the report keeps (all are counted). Default 20. */
  maxErrors?: number;
}

export interface DatasetIssue {
  /** 1-based; absent for a problem with the whole file. */
  line?: number;
  /** Complete and readable on its own: "line 4: invalid JSON (…)". */
  message: string;
}

export interface DatasetReport {
  /** True when every line is a valid example (blank lines aside) and there is at least one. */
  ok: boolean;
  format: DatasetFormat | undefined;
  /** Valid examples. */
  examples: number;
  /** Unicode code points of message content in the valid examples. */
  characters: number;
  /** Lines in the file, blank and invalid ones included. */
  lines: number;
  /** The first maxErrors problems, in file order. */
  errors: DatasetIssue[];
  errorCount: number;
}

export interface DatasetValidator {
  push(chunk: Uint8Array): void;
  /** Ends the file and reports on it; push and finish may not be called after. */
  finish(): DatasetReport;
}

const DEFAULT_MAX_ERRORS = 20;

export function createDatasetValidator(options: ValidatorOptions = {}): DatasetValidator {
  const limits = resolveLimits(options);
  const maxErrors = options.maxErrors ?? DEFAULT_MAX_ERRORS;
  const parser = new ExampleParser(limits);
  const errors: DatasetIssue[] = [];
  let errorCount = 0;
  let examples = 0;
  let characters = 0;
  let finished = false;

  const addError = (issue: DatasetIssue) => {
    errorCount++;
    if (errors.length < maxErrors) errors.push(issue);
  };
  const splitter = new LineSplitter(limits.maxLineBytes, (line, bytes) => {
    const result = parser.parse(line, bytes);
    if (result.kind === 'example') {
      examples++;
      for (const message of result.messages) characters += countCodePoints(message.content);
    } else if (result.kind === 'invalid') {
      addError({ line, message: result.message });
    }
  });
  const assertOpen = () => {
    if (finished) throw new Error('dataset validator already finished');
  };

  return {
    push(chunk) {
      assertOpen();
      splitter.push(chunk);
    },
    finish() {
      assertOpen();
      finished = true;
      splitter.finish();
      const problem = fileProblem(splitter.bytes, examples);
      // "no examples" says nothing new when every line was reported already.
      if (problem && errorCount === 0) addError({ message: problem });
      return {
        ok: errorCount === 0,
        format: parser.format,
        examples,
        characters,
        lines: splitter.lineNumber,
        errors,
        errorCount,
      };
    },
  };
}

export async function validateDataset(source: AsyncIterable<Uint8Array>, options: ValidatorOptions = {}): Promise<DatasetReport> {
  const validator = createDatasetValidator(options);
  for await (const chunk of source) validator.push(chunk);
  return validator.finish();
}

function countCodePoints(text: string): number {
  let count = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    // A surrogate pair is one code point in two UTF-16 units; count it once.
    if (code >= 0xdc00 && code <= 0xdfff && i > 0) {
      const before = text.charCodeAt(i - 1);
      if (before >= 0xd800 && before <= 0xdbff) count--;
    }
  }
  return count;
}
