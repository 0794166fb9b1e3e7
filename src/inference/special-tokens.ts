// The special tokens a model family's tokenizer adds around plain text (Hugging Face's
// add_special_tokens, which vLLM applies to completion prompts and /tokenize): ChatGLM2/3 and GLM-4
// put [gMASK] and sop / <sop> before the text, ChatGLM-6B (v1) puts [gMASK] <sop> after it.
import { chatFamilyOf } from '../model/chat-templates/select.ts';
import type { Tokenizer } from '../model/tokenizers/types.ts';

export interface SpecialTokens {
  prefix: number[];
  suffix: number[];
}

export function specialTokens(tokenizer: Tokenizer): SpecialTokens {
  const ids = (...tokens: string[]) => tokens.map((t) => tokenizer.specialTokens[t]);
  switch (chatFamilyOf(tokenizer)) {
    case 'chatglm2':
    case 'chatglm3':
      return { prefix: ids('[gMASK]', 'sop'), suffix: [] };
    case 'glm4':
      return { prefix: ids('[gMASK]', '<sop>'), suffix: [] };
    case 'chatglm6b':
      return { prefix: [], suffix: ids('[gMASK]', '<sop>') };
    default:
      return { prefix: [], suffix: [] };
  }
}

/** Plain text as a prompt the model continues: the text's ids, with the family's special tokens when asked. */
export function textPromptIds(tokenizer: Tokenizer, text: string, addSpecialTokens = true): number[] {
  const ids = tokenizer.encode(text);
  if (!addSpecialTokens) return ids;
  const { prefix, suffix } = specialTokens(tokenizer);
  return [...prefix, ...ids, ...suffix];
}
