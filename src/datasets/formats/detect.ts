// Which format a line is in, from its keys. Extra keys are ignored, so lines may carry metadata.
import { isObject, quote, type JsonObject } from './fields.ts';
import type { DatasetFormat } from './format.ts';

const KNOWN_SHAPES =
  '"messages" (OpenAI chat), "prompt" + "completion", "instruction" + "output" (Alpaca), ' +
  '"conversations" (ShareGPT or ChatGLM3), "prompt" + "response" (ChatGLM) or "content" + "summary" (ADGEN)';

/**
 * The line's format, or a problem when its keys fit none. A key that only one format has decides
 * (so a line with "instruction" but no "output" is an Alpaca line missing its output); where the keys
 * alone are ambiguous ("prompt" alone, an empty "conversations"), the format of the earlier lines
 * (`fileFormat`) breaks the tie.
 */
export function detectFormat(record: JsonObject, fileFormat: DatasetFormat | undefined): DatasetFormat | { problem: string } {
  if ('messages' in record) return 'openai-chat';
  if ('conversations' in record) return conversationsFormat(record, fileFormat);
  if ('instruction' in record || 'output' in record) return 'alpaca';
  if ('completion' in record) return 'prompt-completion';
  if ('response' in record) return 'chatglm';
  if ('summary' in record) return 'adgen';
  if ('prompt' in record) {
    if (fileFormat === 'prompt-completion' || fileFormat === 'chatglm') return fileFormat;
    return { problem: '"prompt" without "completion" (prompt/completion format) or "response" (ChatGLM format)' };
  }
  if ('content' in record && fileFormat === 'adgen') return 'adgen';
  const keys = Object.keys(record);
  const found = keys.length === 0 ? 'an empty object' : `keys ${keys.slice(0, 5).map(quote).join(', ')}${keys.length > 5 ? ', …' : ''}`;
  return { problem: `no known format: found ${found}; expected ${KNOWN_SHAPES}` };
}

/** ShareGPT turns have "from"/"value", ChatGLM3 turns "role"/"content". */
function conversationsFormat(record: JsonObject, fileFormat: DatasetFormat | undefined): DatasetFormat {
  const turns = Array.isArray(record.conversations) ? record.conversations : [];
  const first = turns.find(isObject);
  if (first && ('from' in first || 'value' in first)) return 'sharegpt';
  if (first && ('role' in first || 'content' in first)) return 'chatglm3';
  if (fileFormat === 'sharegpt' || fileFormat === 'chatglm3') return fileFormat;
  return 'tools' in record ? 'chatglm3' : 'sharegpt';
}
