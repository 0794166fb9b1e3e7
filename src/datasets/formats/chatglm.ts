// ChatGLM(-6B/2)'s fine-tuning format: {"prompt", "response", "history"?: [[query, answer], ...]}.
import type { ChatMessage } from '../../model/chat.ts';
import { historyMessages, requireText, type JsonObject } from './fields.ts';
import type { FormatReader } from './format.ts';

export const chatglm: FormatReader = {
  name: 'chatglm',
  label: 'ChatGLM',
  toMessages(record: JsonObject): ChatMessage[] {
    return [
      ...historyMessages(record.history, 'history'),
      { role: 'user', content: requireText(record.prompt, 'prompt') },
      { role: 'assistant', content: requireText(record.response, 'response') },
    ];
  },
};
