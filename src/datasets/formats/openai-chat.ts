// OpenAI's chat fine-tuning format: {"messages": [{"role", "content", "weight"?}, ...]}.
import type { ChatMessage } from '../../model/chat.ts';
import {
  describe,
  isBlank,
  isObject,
  LineProblem,
  quote,
  readRole,
  refuseToolField,
  requireList,
  requireObject,
  type JsonObject,
} from './fields.ts';
import type { FormatReader } from './format.ts';
import { checkTurnOrder } from './turn-order.ts';

const ROLES = { system: 'system', user: 'user', assistant: 'assistant' } as const;
const TOOL_ROLES = ['tool', 'function'];

export const openaiChat: FormatReader = {
  name: 'openai-chat',
  label: 'OpenAI chat',
  toMessages(record: JsonObject): ChatMessage[] {
    refuseToolField(record, 'tools', 'tools');
    refuseToolField(record, 'functions', 'functions');
    const messages = requireList(record.messages, 'messages').map((item, i) => toMessage(item, `messages[${i}]`));
    checkTurnOrder(messages, 'messages', (i) => `messages[${i}]`);
    return messages;
  },
};

function toMessage(item: unknown, path: string): ChatMessage {
  const message = requireObject(item, path);
  const role = readRole(message.role, `${path}.role`, ROLES, TOOL_ROLES);
  refuseToolField(message, 'tool_calls', `${path}.tool_calls`);
  refuseToolField(message, 'function_call', `${path}.function_call`);
  const content = contentText(message.content, `${path}.content`);
  const weight = message.weight;
  if (weight === undefined || weight === null) return { role, content };
  if (role !== 'assistant') throw new LineProblem(`${path}.weight is only allowed on assistant messages`);
  if (weight !== 0 && weight !== 1) {
    throw new LineProblem(`${path}.weight must be 0 or 1, got ${typeof weight === 'number' ? weight : describe(weight)}`);
  }
  // Weight 1 is the default; only an excluded turn is marked.
  return weight === 0 ? { role, content, weight: 0 } : { role, content };
}

/** A string, or OpenAI's array of `{type: "text", text}` parts, joined by newlines (as vLLM does). */
function contentText(value: unknown, path: string): string {
  if (value === undefined) throw new LineProblem(`${path} is missing`);
  let text: string;
  if (typeof value === 'string') {
    text = value;
  } else if (Array.isArray(value)) {
    text = value.map((part, i) => partText(part, `${path}[${i}]`)).join('\n');
  } else {
    throw new LineProblem(`${path} must be a string or an array of text parts, got ${describe(value)}`);
  }
  if (isBlank(text)) throw new LineProblem(`${path} is empty`);
  return text;
}

function partText(part: unknown, path: string): string {
  if (!isObject(part)) throw new LineProblem(`${path} must be an object like {"type": "text", "text": "..."}, got ${describe(part)}`);
  if (part.type !== 'text') {
    const type = typeof part.type === 'string' ? quote(part.type) : describe(part.type);
    throw new LineProblem(`${path}.type is ${type}; only text parts are supported`);
  }
  if (typeof part.text !== 'string') throw new LineProblem(`${path}.text must be a string, got ${describe(part.text)}`);
  return part.text;
}
