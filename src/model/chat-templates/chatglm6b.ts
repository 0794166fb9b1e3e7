// ChatGLM-6B (v1)'s chat format. The conversation is one text (THUDM's chat() in modeling_chatglm.py):
//   no history      the bare query
//   with history    [Round 0]\n问：{q}\n答：{r}\n … [Round N]\n问：{query}\n答：
// and [gMASK] <sop> come AFTER the text (ChatGLM2/3 put their prefix before it). The text goes through
// the Hugging Face tokenizer path, as chat() and ptuning/main.py do (tokenizer.encode with specials).
// There are no role tokens: a leading system message becomes text before the prompt, as
// ptuning/main.py's --source_prefix does, and there is no observation role. Generation stops at <eop>.
//
// Training examples follow ChatGLM-6B's ptuning/main.py (preprocess_function_train):
//   input_ids = a + [gMASK, <sop>] + b + [<eop>]
//   labels    = [-100]·(len(a) + 1) + [<sop>] + b + [<eop>]
// where a = encode(prompt of every message before the final reply) and b = encode(reply): the [gMASK]
// position predicts <sop>, so <sop> is a target. Earlier replies are history inside the prompt, never
// targets. For v1, `weight: 0` on the final reply makes <sop>, the reply and <eop> non-targets;
// `trainOnInputs` makes the prompt ids and [gMASK] targets too (the whole prompt text, earlier replies
// included, whatever their weight, since it is encoded as one text). Labels equal to the pad id are
// -100, as ptuning/main.py's ignore_pad_token_for_loss (its default) makes them.
import type { ChatMessage } from '../chat.ts';
import type { Tokenizer } from '../tokenizers/types.ts';
import { pythonStrip } from '../tokenizers/python-whitespace.ts';
import { IGNORE_INDEX, type ChatTemplate, type TrainingExample } from './types.ts';

export interface Chatglm6bExampleOptions {
  trainOnInputs?: boolean;
  /**
   * ptuning/main.py with --history_column: the prompt has the [Round N] form even when the history is
   * empty ("[Round 0]\n问：{query}\n答："). Without it (and in chat()), a query with no history is bare.
   */
  historyColumn?: boolean;
  /**
   * ptuning/main.py's --max_source_length and --max_target_length: the prompt ids are cut to
   * source − 1 and the reply ids to target − 2, and the example is right-padded with the pad id
   * (labels -100) to source + target.
   */
  maxLengths?: { source: number; target: number };
}

export interface Chatglm6bTemplate extends ChatTemplate {
  trainingExample(messages: readonly ChatMessage[], options?: Chatglm6bExampleOptions): TrainingExample;
}

export function chatglm6bTemplate(tokenizer: Tokenizer): Chatglm6bTemplate {
  const special = (token: string): number => {
    const id = tokenizer.specialTokens[token];
    if (id === undefined) throw new Error(`the chatglm6b chat template needs the special token ${token}`);
    return id;
  };
  const gmask = special('[gMASK]');
  const sop = special('<sop>');
  const eop = tokenizer.eosId;
  const encode = (text: string) => tokenizer.encode(text, { specials: true });
  const promptIds = (messages: readonly ChatMessage[], historyColumn = false) => {
    const { prefix, query, history } = splitConversation(messages);
    return encode(prefix + chatglm6bPromptText(query, history, historyColumn));
  };

  return {
    name: 'chatglm6b',
    stopIds: [eop],
    generationPrompt: (messages) => [...promptIds(messages), gmask, sop],
    trainingExample(messages, options = {}): TrainingExample {
      const reply = messages.at(-1);
      if (reply?.role !== 'assistant') throw new Error('a chatglm6b training conversation must end with an assistant message');
      let a = promptIds(messages.slice(0, -1), options.historyColumn);
      let b = encode(reply.content);
      const lengths = options.maxLengths;
      if (lengths !== undefined) {
        if (!Number.isInteger(lengths.source) || lengths.source < 1 || !Number.isInteger(lengths.target) || lengths.target < 2) {
          throw new Error(`chatglm6b maxLengths must be integers with source ≥ 1 and target ≥ 2, not ${JSON.stringify(lengths)}`);
        }
        a = a.slice(0, lengths.source - 1);
        b = b.slice(0, lengths.target - 2);
      }
      const context = [...a, gmask];
      const answer = [sop, ...b, eop];
      const inputIds = [...context, ...answer];
      const labels = [
        ...context.map((id) => (options.trainOnInputs ? id : IGNORE_INDEX)),
        ...answer.map((id) => (reply.weight === 0 ? IGNORE_INDEX : id)),
      ].map((label) => (label === tokenizer.padId ? IGNORE_INDEX : label));
      if (lengths !== undefined) {
        const padding = lengths.source + lengths.target - inputIds.length;
        for (let i = 0; i < padding; i++) {
          inputIds.push(tokenizer.padId);
          labels.push(IGNORE_INDEX);
        }
      }
      return { inputIds, labels };
    },
  };
}

/** THUDM's v1 prompt text for `query` after `history` ([query, reply] pairs); see the file comment. */
export function chatglm6bPromptText(query: string, history: ReadonlyArray<readonly [string, string]>, historyColumn = false): string {
  if (history.length === 0 && !historyColumn) return query;
  let prompt = '';
  history.forEach(([pastQuery, reply], round) => {
    prompt += `[Round ${round}]\n问：${pastQuery}\n答：${reply}\n`;
  });
  return `${prompt}[Round ${history.length}]\n问：${query}\n答：`;
}

/** Messages as [system prefix], user/assistant pairs, final user query. */
function splitConversation(messages: readonly ChatMessage[]): { prefix: string; query: string; history: Array<[string, string]> } {
  const hasSystem = messages[0]?.role === 'system';
  const prefix = hasSystem ? messages[0].content : '';
  const turns = hasSystem ? messages.slice(1) : messages;
  if (turns.length % 2 === 0) throw new Error('a chatglm6b prompt must end with a user message');
  turns.forEach((turn, i) => {
    const expected = i % 2 === 0 ? 'user' : 'assistant';
    if (turn.role !== expected) {
      throw new Error(
        `chatglm6b has only a leading system message and alternating user/assistant turns; message ${i + (hasSystem ? 1 : 0)} is ${turn.role}`,
      );
    }
  });
  const history: Array<[string, string]> = [];
  for (let i = 0; i + 1 < turns.length; i += 2) history.push([turns[i].content, turns[i + 1].content]);
  return { prefix, query: turns[turns.length - 1].content, history };
}

const CJK = '[\\u4e00-\\u9fff]';
const PUNCTUATION: ReadonlyArray<[string, string]> = [
  [',', '，'],
  ['!', '！'],
  [':', '：'],
  [';', '；'],
  ['?', '？'],
];
const PUNCTUATION_RULES = PUNCTUATION.map(([ascii, fullWidth]) => {
  const escaped = ascii.replace(/[?]/g, '\\?');
  return { after: new RegExp(`(${CJK})${escaped}`, 'g'), before: new RegExp(`${escaped}(${CJK})`, 'g'), fullWidth };
});

/**
 * THUDM's process_response (ChatGLM-6B modeling_chatglm.py), applied to a decoded reply: strip, the
 * training-date placeholder, and ASCII , ! : ; ? next to a CJK ideograph back to full width (the NFKC
 * normaliser turned them half-width). chat()'s reply is
 * process_response(cleanUpTokenization(tokenizer.decode(new ids))).
 */
export function processResponse(text: string): string {
  let out = pythonStrip(text).replaceAll('[[训练时间]]', '2023年');
  for (const rule of PUNCTUATION_RULES) {
    out = out.replace(rule.after, `$1${rule.fullWidth}`).replace(rule.before, `${rule.fullWidth}$1`);
  }
  return out;
}
