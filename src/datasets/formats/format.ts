// What each dataset format module provides.
import type { ChatMessage } from '../../model/chat.ts';
import type { JsonObject } from './fields.ts';

export type DatasetFormat = 'openai-chat' | 'prompt-completion' | 'alpaca' | 'sharegpt' | 'chatglm3' | 'chatglm' | 'adgen';

export interface FormatReader {
  readonly name: DatasetFormat;
  /** The name a person knows it by, for messages. */
  readonly label: string;
  /** The line's conversation; throws a LineProblem naming the field that is wrong. */
  toMessages(record: JsonObject): ChatMessage[];
}
