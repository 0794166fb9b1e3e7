// The prompt/completion format: {"prompt", "completion"}, one user turn and its reply.
import type { ChatMessage } from '../../model/chat.ts';
import { requireText, type JsonObject } from './fields.ts';
import type { FormatReader } from './format.ts';

export const promptCompletion: FormatReader = {
  name: 'prompt-completion',
  label: 'prompt/completion',
  toMessages(record: JsonObject): ChatMessage[] {
    return [
      { role: 'user', content: requireText(record.prompt, 'prompt') },
      { role: 'assistant', content: requireText(record.completion, 'completion') },
    ];
  },
};
