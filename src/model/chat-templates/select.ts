// Chooses a model's chat template. The template follows the model, and the model shows its family in
// its tokenizer's special tokens (ChatGLM2 and ChatGLM3 share tokenizer.model and tokenizer_class, so
// config files cannot tell them apart; their special tokens can):
//   <|user|>, <|assistant|> and <sop>        → GLM-4
//   <|user|>, <|assistant|> and sop          → ChatGLM3 (also glm-tiny's byte tokenizer)
//   [gMASK] and sop, no role tokens          → ChatGLM2
//   [gMASK] and <sop>, no role tokens        → ChatGLM-6B (v1)
// A GLM family's training examples are always built as THUDM's fine-tuning scripts build them. When
// tokenizer_config.json has a chat_template, generation prompts are rendered from it, as Hugging Face's
// apply_chat_template (and vLLM) do; for THUDM's own templates this gives the same ids, except where
// GLM-4 content starts with a newline (see the tokenizer fixtures' README). A tokenizer of no GLM family
// needs a chat_template, which then builds training examples too.
import type { Tokenizer } from '../tokenizers/types.ts';
import { readTokenizerConfig, type TokenizerConfigJson } from '../tokenizers/load.ts';
import type { ChatTemplate } from './types.ts';
import { chatglm2Template } from './chatglm2.ts';
import { chatglm3Template } from './chatglm3.ts';
import { chatglm6bTemplate } from './chatglm6b.ts';
import { glm4Template } from './glm4.ts';
import { chatTemplateSource, jinjaTemplate } from './jinja.ts';

export type ChatFamily = 'chatglm6b' | 'chatglm2' | 'chatglm3' | 'glm4';

export function chatFamilyOf(tokenizer: Tokenizer): ChatFamily | undefined {
  const has = (token: string) => tokenizer.specialTokens[token] !== undefined;
  if (!has('[gMASK]')) return undefined;
  if (has('<|user|>') && has('<|assistant|>')) {
    if (has('<sop>')) return 'glm4';
    if (has('sop')) return 'chatglm3';
    return undefined;
  }
  if (has('sop')) return 'chatglm2';
  return has('<sop>') ? 'chatglm6b' : undefined;
}

const FAMILY_TEMPLATES: Record<ChatFamily, (tokenizer: Tokenizer) => ChatTemplate> = {
  chatglm6b: chatglm6bTemplate,
  chatglm2: chatglm2Template,
  chatglm3: chatglm3Template,
  glm4: glm4Template,
};

/** The chat template of a model folder (or of its parsed tokenizer_config.json) with its tokenizer. */
export async function templateFor(source: string | TokenizerConfigJson, tokenizer: Tokenizer): Promise<ChatTemplate> {
  const config = typeof source === 'string' ? ((await readTokenizerConfig(source)) ?? {}) : source;
  const family = chatFamilyOf(tokenizer);
  const jinjaSource = chatTemplateSource(config);
  if (family !== undefined) {
    const native = FAMILY_TEMPLATES[family](tokenizer);
    if (jinjaSource === undefined) return native;
    const jinja = jinjaTemplate(jinjaSource, tokenizer, config);
    return { ...native, name: `${native.name}+chat_template`, generationPrompt: jinja.generationPrompt };
  }
  if (jinjaSource !== undefined) return jinjaTemplate(jinjaSource, tokenizer, config);
  const where = typeof source === 'string' ? `${source}: ` : '';
  throw new Error(`${where}no chat template: the tokenizer has no GLM special tokens and tokenizer_config.json has no chat_template`);
}
