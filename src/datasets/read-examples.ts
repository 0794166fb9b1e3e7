// The trainer's reader: a dataset file's conversations, streamed, with the same checks as upload.
import type { ChatMessage } from '../model/chat.ts';
import { ExampleParser, fileProblem, resolveLimits, type DatasetLimits, type LineResult } from './example-parser.ts';
import { LineSplitter } from './line-splitter.ts';

export interface Example {
  /** 1-based line in the file. */
  line: number;
  messages: ChatMessage[];
}

/** Thrown by readExamples for a file that does not validate. */
export class InvalidDatasetError extends Error {
  constructor(
    message: string,
    /** The offending line, absent for a problem with the whole file. */
    readonly line?: number,
  ) {
    super(message);
    this.name = 'InvalidDatasetError';
  }
}

/**
 * Yields each example in file order. Throws InvalidDatasetError at the first invalid line (after the
 * examples before it) or at the end for a file with none; a file that passed validation does neither.
 * Holds one chunk's worth of examples at a time.
 */
export async function* readExamples(source: AsyncIterable<Uint8Array>, options: Partial<DatasetLimits> = {}): AsyncGenerator<Example> {
  const limits = resolveLimits(options);
  const parser = new ExampleParser(limits);
  let pending: Array<{ line: number; result: LineResult }> = [];
  const splitter = new LineSplitter(limits.maxLineBytes, (line, bytes) => {
    pending.push({ line, result: parser.parse(line, bytes) });
  });
  let examples = 0;

  function* drain(): Generator<Example> {
    const ready = pending;
    pending = [];
    for (const { line, result } of ready) {
      if (result.kind === 'invalid') throw new InvalidDatasetError(result.message, line);
      if (result.kind === 'example') {
        examples++;
        yield { line, messages: result.messages };
      }
    }
  }

  for await (const chunk of source) {
    splitter.push(chunk);
    yield* drain();
  }
  splitter.finish();
  yield* drain();
  const problem = fileProblem(splitter.bytes, examples);
  if (problem) throw new InvalidDatasetError(problem);
}
