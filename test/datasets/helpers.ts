// Feeding test datasets to the validator and the reader in chosen chunk sizes.
import type { ChatMessage } from '../../src/model/chat.ts';
import { createDatasetValidator, readExamples, type DatasetReport, type ValidatorOptions } from '../../src/datasets/index.ts';

export function bytesOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** `bytes` cut into pieces of `size` (the whole thing when size is Infinity). */
export function* chunksOf(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let start = 0; start < bytes.length; start += size) yield bytes.subarray(start, start + size);
}

export async function* streamOf(bytes: Uint8Array, size = 64 * 1024): AsyncGenerator<Uint8Array> {
  yield* chunksOf(bytes, size);
}

export function validate(data: string | Uint8Array, options: ValidatorOptions = {}, chunkSize = Infinity): DatasetReport {
  const validator = createDatasetValidator(options);
  for (const chunk of chunksOf(typeof data === 'string' ? bytesOf(data) : data, chunkSize)) validator.push(chunk);
  return validator.finish();
}

/** The single error message of a one-problem file. */
export function onlyError(data: string | Uint8Array, options: ValidatorOptions = {}): string {
  const report = validate(data, options);
  if (report.errorCount !== 1) throw new Error(`expected one error, got ${JSON.stringify(report.errors)}`);
  return report.errors[0].message;
}

export async function messagesOf(text: string): Promise<ChatMessage[][]> {
  const all: ChatMessage[][] = [];
  for await (const example of readExamples(streamOf(bytesOf(text)))) all.push(example.messages);
  return all;
}

export function jsonl(...records: unknown[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
}
