// A dataset file → token ids and labels through the model's chat template, truncated to max_seq_len,
// with counts of what truncation changed.
import { createReadStream } from 'node:fs';
import type { ChatMessage } from '../../model/chat.ts';
import type { ChatTemplate } from '../../model/chat-templates/types.ts';
import { readExamples } from '../../datasets/index.ts';
import { finalReplyStart, truncateExample } from './truncate.ts';

export interface EncodedExample {
  /** 1-based line of the dataset file. */
  line: number;
  /** The conversation, for generation metrics (prompt = all but the final reply). */
  messages: ChatMessage[];
  inputIds: number[];
  /** Same length as inputIds; IGNORE_INDEX where the token is not a target (unshifted). */
  labels: number[];
}

export interface EncodeStats {
  /** Examples read from the file. */
  read: number;
  /** Examples shortened to max_seq_len. */
  truncated: number;
  /** Examples left with no target token (too long, or every reply has weight 0). */
  dropped: number;
}

export interface EncodeOptions {
  maxSeqLen: number;
  trainOnInputs: boolean;
}

/** One conversation as a training example, or null when it has to be dropped. */
export function encodeConversation(template: ChatTemplate, messages: ChatMessage[], options: EncodeOptions): { example: { inputIds: number[]; labels: number[] }; truncated: boolean } | null {
  const replies = template.trainingExample(messages);
  const example = options.trainOnInputs ? template.trainingExample(messages, { trainOnInputs: true }) : replies;
  const result = truncateExample(example, options.maxSeqLen, finalReplyStart(replies.labels));
  if (result.kind === 'dropped') return null;
  return { example: result.example, truncated: result.kind === 'truncated' };
}

/** Reads and encodes every example of a dataset file (which the Files API has validated). */
export async function encodeDatasetFile(path: string, template: ChatTemplate, options: EncodeOptions): Promise<{ examples: EncodedExample[]; stats: EncodeStats }> {
  const examples: EncodedExample[] = [];
  const stats: EncodeStats = { read: 0, truncated: 0, dropped: 0 };
  for await (const { line, messages } of readExamples(createReadStream(path))) {
    stats.read++;
    const encoded = encodeConversation(template, messages, options);
    if (!encoded) {
      stats.dropped++;
      continue;
    }
    if (encoded.truncated) stats.truncated++;
    examples.push({ line, messages, ...encoded.example });
  }
  return { examples, stats };
}
