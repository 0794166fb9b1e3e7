// ShareGPT: {"conversations": [{"from", "value"}, ...], "system"?}, with LLaMA-Factory's role tags.
import type { ChatMessage } from '../../model/chat.ts';
import { optionalText, readRole, refuseToolField, requireList, requireObject, requireText, type JsonObject } from './fields.ts';
import type { FormatReader } from './format.ts';
import { checkTurnOrder } from './turn-order.ts';

const ROLES = {
  human: 'user',
  user: 'user',
  gpt: 'assistant',
  assistant: 'assistant',
  system: 'system',
  observation: 'observation',
} as const;
const TOOL_ROLES = ['function_call', 'tool'];

export const sharegpt: FormatReader = {
  name: 'sharegpt',
  label: 'ShareGPT',
  toMessages(record: JsonObject): ChatMessage[] {
    refuseToolField(record, 'tools', 'tools');
    const system = optionalText(record.system, 'system');
    const turns = requireList(record.conversations, 'conversations').map((item, i): ChatMessage => {
      const path = `conversations[${i}]`;
      const turn = requireObject(item, path);
      return { role: readRole(turn.from, `${path}.from`, ROLES, TOOL_ROLES), content: requireText(turn.value, `${path}.value`) };
    });
    const messages: ChatMessage[] = system === undefined ? turns : [{ role: 'system', content: system }, ...turns];
    const offset = messages.length - turns.length;
    checkTurnOrder(messages, 'conversations', (i) => (i < offset ? 'system' : `conversations[${i - offset}]`));
    return messages;
  },
};
