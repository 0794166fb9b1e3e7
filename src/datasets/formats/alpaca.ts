// Alpaca: {"instruction", "input"?, "output", "system"?, "history"?: [[query, answer], ...]}.
import type { ChatMessage } from '../../model/chat.ts';
import { historyMessages, optionalText, requireText, type JsonObject } from './fields.ts';
import type { FormatReader } from './format.ts';

export const alpaca: FormatReader = {
  name: 'alpaca',
  label: 'Alpaca',
  toMessages(record: JsonObject): ChatMessage[] {
    const instruction = requireText(record.instruction, 'instruction');
    const input = optionalText(record.input, 'input');
    const output = requireText(record.output, 'output');
    const system = optionalText(record.system, 'system');
    return [
      ...(system === undefined ? [] : [{ role: 'system' as const, content: system }]),
      ...historyMessages(record.history, 'history'),
      // LLaMA-Factory's convention: the input follows the instruction on the next line.
      { role: 'user', content: input === undefined ? instruction : `${instruction}\n${input}` },
      { role: 'assistant', content: output },
    ];
  },
};
