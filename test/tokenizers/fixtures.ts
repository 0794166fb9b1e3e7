// The tokenizer fixtures (test/fixtures/tokenizers) and model folders built from them in a temporary
// directory, removed when the test file ends.
import { after } from 'node:test';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChatMessage } from '../../src/model/chat.ts';

export const FIXTURES = fileURLToPath(new URL('../fixtures/tokenizers/', import.meta.url));

export interface ReferenceString {
  name: string;
  text: string;
  ids: number[];
  decoded: string;
  ids_special: number[];
  decoded_special: string;
}

export interface ReferenceConversation {
  name: string;
  messages: ChatMessage[];
  generation: { num_messages: number; input_ids: number[]; decoded: string };
  training: {
    input_ids: number[];
    labels: number[];
    loss_mask: number[];
    assistant_spans: Array<{ message_index: number; start: number; end: number }>;
    end_token_id: number;
    decoded: string;
  };
  template_text: { generation: string; full: string };
}

export interface ReferenceTokenizer {
  file: string;
  sha256: string;
  vocab_size: number;
  special_tokens: Record<string, number>;
  prefix_ids: number[];
  strings: ReferenceString[];
  conversations: ReferenceConversation[];
}

const reference = JSON.parse(readFileSync(join(FIXTURES, 'reference.json'), 'utf8')) as {
  ignore_index: number;
  tokenizers: { chatglm3: ReferenceTokenizer; glm4: ReferenceTokenizer };
};
export const IGNORE_INDEX_IN_FIXTURES = reference.ignore_index;
export const chatglm3Reference = reference.tokenizers.chatglm3;
export const glm4Reference = reference.tokenizers.glm4;

export const CHATGLM3_MODEL = join(FIXTURES, 'chatglm3', 'tokenizer.model');
export const GLM4_MODEL = join(FIXTURES, 'glm4', 'tokenizer.model');

export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

const folders: string[] = [];
after(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

/** A model folder holding `files`: text/JSON content, or `{ copy: path }` to copy a fixture file. */
export function makeModelFolder(files: Record<string, string | object | { copy: string }>): string {
  const dir = mkdtempSync(join(tmpdir(), 'glmtune-tokenizer-'));
  folders.push(dir);
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    if (typeof content === 'string') writeFileSync(path, content);
    else if ('copy' in content && typeof content.copy === 'string') copyFileSync(content.copy, path);
    else writeFileSync(path, JSON.stringify(content));
  }
  return dir;
}

export const chatglm3Folder = () =>
  makeModelFolder({ 'tokenizer.model': { copy: CHATGLM3_MODEL }, 'tokenizer_config.json': { tokenizer_class: 'ChatGLMTokenizer' } });

export const glm4Folder = () =>
  makeModelFolder({ 'tokenizer.model': { copy: GLM4_MODEL }, 'tokenizer_config.json': { tokenizer_class: 'ChatGLM4Tokenizer' } });

/** ChatGLM2-6B's remote-code tokenizer declares only the five GLM special tokens (an excerpt is enough). */
export const chatglm2Folder = () =>
  makeModelFolder({
    'tokenizer.model': { copy: CHATGLM3_MODEL },
    'tokenizer_config.json': { tokenizer_class: 'ChatGLMTokenizer' },
    'tokenization_chatglm.py': 'special_tokens = ["[MASK]", "[gMASK]", "[sMASK]", "sop", "eop"]\n',
  });
