// ADGEN (THUDM's advertising-text example): {"content", "summary"}; the content is the user turn and
// the summary the assistant's reply.
import type { ChatMessage } from '../../model/chat.ts';
import { requireText, type JsonObject } from './fields.ts';
import type { FormatReader } from './format.ts';

export const adgen: FormatReader = {
  name: 'adgen',
  label: 'ADGEN',
  toMessages(record: JsonObject): ChatMessage[] {
    return [
      { role: 'user', content: requireText(record.content, 'content') },
      { role: 'assistant', content: requireText(record.summary, 'summary') },
    ];
  },
};
