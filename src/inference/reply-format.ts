// How a chat reply's raw text becomes the message content, per model family, as THUDM's chat() shows
// it (process_response): ChatGLM3 / GLM-4 strip the reply (it starts with the empty metadata line),
// ChatGLM2 also fills in its training-date placeholder, ChatGLM-6B (v1) also cleans up tokenization
// and turns ASCII punctuation next to CJK ideographs full-width. Streaming shows `partial` text, which
// later text never changes: each rewrite looks at most `window` characters around a position, so all
// but the last `window` characters of the rewritten text are settled.
import { chatFamilyOf } from '../model/chat-templates/select.ts';
import { processResponse } from '../model/chat-templates/chatglm6b.ts';
import { cleanUpTokenization } from '../model/tokenizers/chatglm6b-icetext.ts';
import { pythonStrip } from '../model/tokenizers/python-whitespace.ts';
import type { Tokenizer } from '../model/tokenizers/types.ts';

export interface ReplyFormat {
  /** The reply as shown once it is complete. */
  final(text: string): string;
  /** What can be shown of an unfinished reply: a prefix of final(text + whatever follows). */
  partial(text: string): string;
}

function withWindow(final: (text: string) => string, window: number): ReplyFormat {
  return {
    final,
    partial: (text) => {
      const shown = final(text);
      return shown.slice(0, Math.max(0, shown.length - window));
    },
  };
}

/** Completions return what the model wrote. */
export const VERBATIM: ReplyFormat = { final: (text) => text, partial: (text) => text };

// pythonStrip only drops whitespace at the ends, which later text can only move: no window needed.
const STRIPPED = withWindow(pythonStrip, 0);
const CHATGLM2 = withWindow((text) => pythonStrip(text).replaceAll('[[训练时间]]', '2023年'), '[[训练时间]]'.length);
// The longest rewrite: the 8-character placeholder; clean-up looks at 4, punctuation at 2.
const CHATGLM6B = withWindow((text) => processResponse(cleanUpTokenization(text)), 12);

/** The chat reply format of a model with this tokenizer (verbatim for templates of no GLM family). */
export function chatReplyFormat(tokenizer: Tokenizer): ReplyFormat {
  switch (chatFamilyOf(tokenizer)) {
    case 'chatglm6b':
      return CHATGLM6B;
    case 'chatglm2':
      return CHATGLM2;
    case 'chatglm3':
    case 'glm4':
      return STRIPPED;
    default:
      return VERBATIM;
  }
}
