// ChatGLM3's fine-tuning format: {"conversations": [{"role", "content", "loss"?}, ...]}.
// `loss: false` on an assistant turn excludes it from training (weight 0). Tool use (a "tools" list,
// "tool" turns, assistant turns with "metadata" naming a tool) is refused for now; observations are kept.
import type { ChatMessage } from '../../model/chat.ts';
import { describe, LineProblem, readRole, refuseToolField, requireList, requireObject, requireText, type JsonObject } from './fields.ts';
import type { FormatReader } from './format.ts';
import { checkTurnOrder } from './turn-order.ts';

const ROLES = { system: 'system', user: 'user', assistant: 'assistant', observation: 'observation' } as const;
const TOOL_ROLES = ['tool'];

export const chatglm3: FormatReader = {
  name: 'chatglm3',
  label: 'ChatGLM3',
  toMessages(record: JsonObject): ChatMessage[] {
    refuseToolField(record, 'tools', 'tools');
    const messages = requireList(record.conversations, 'conversations').map((item, i) => toMessage(item, `conversations[${i}]`));
    checkTurnOrder(messages, 'conversations', (i) => `conversations[${i}]`);
    return messages;
  },
};

function toMessage(item: unknown, path: string): ChatMessage {
  const turn = requireObject(item, path);
  const role = readRole(turn.role, `${path}.role`, ROLES, TOOL_ROLES);
  refuseToolField(turn, 'metadata', `${path}.metadata`);
  const content = requireText(turn.content, `${path}.content`);
  const loss = turn.loss;
  if (loss === undefined || loss === null) return { role, content };
  if (role !== 'assistant') throw new LineProblem(`${path}.loss is only allowed on assistant messages`);
  if (typeof loss !== 'boolean') throw new LineProblem(`${path}.loss must be true or false, got ${describe(loss)}`);
  return loss ? { role, content } : { role, content, weight: 0 };
}
