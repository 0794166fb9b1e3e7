// ChatGLM2's chat format: the conversation as one text prompt,
//   [Round 1]\n\n问：{query}\n\n答：{response}\n\n … [Round N]\n\n问：{query}\n\n答：
// (THUDM's ChatGLM2 tokenizer.build_prompt), encoded after the `[gMASK] sop` prefix. ChatGLM2 has no
// role tokens: a leading system message becomes the text before the first round, as ptuning/main.py's
// --source_prefix does, and there is no observation role.
//
// Training examples follow ChatGLM2-6B's ptuning/main.py: prompt = every message before the final
// assistant reply (earlier replies are history inside the prompt, never targets); input =
// prompt ids + encode(reply) + </s>; the labels are the reply and </s>. Because the prompt is encoded as
// one text, `trainOnInputs` makes all of it a target, earlier replies included, whatever their weight;
// the weight of the final reply is honoured.
import type { ChatMessage } from '../chat.ts';
import type { Tokenizer } from '../tokenizers/types.ts';
import { IGNORE_INDEX, type ChatTemplate, type TrainingExample } from './types.ts';

export function chatglm2Template(tokenizer: Tokenizer): ChatTemplate {
  const prefixIds = ['[gMASK]', 'sop'].map((token) => {
    const id = tokenizer.specialTokens[token];
    if (id === undefined) throw new Error(`the chatglm2 chat template needs the special token ${token}`);
    return id;
  });
  const promptIds = (messages: readonly ChatMessage[]) => [...prefixIds, ...tokenizer.encode(buildPrompt(messages))];

  return {
    name: 'chatglm2',
    stopIds: [tokenizer.eosId],
    generationPrompt: promptIds,
    trainingExample(messages, options = {}): TrainingExample {
      const reply = messages.at(-1);
      if (reply?.role !== 'assistant') throw new Error('a chatglm2 training conversation must end with an assistant message');
      const prompt = promptIds(messages.slice(0, -1));
      const answer = [...tokenizer.encode(reply.content), tokenizer.eosId];
      const inputIds = [...prompt, ...answer];
      const answerIsTarget = reply.weight !== 0;
      const labels = [
        ...prompt.map((id) => (options.trainOnInputs ? id : IGNORE_INDEX)),
        ...answer.map((id) => (answerIsTarget ? id : IGNORE_INDEX)),
      ];
      return { inputIds, labels };
    },
  };
}

/** THUDM's build_prompt(query, history) from messages: [system], then user/assistant pairs, ending with user. */
function buildPrompt(messages: readonly ChatMessage[]): string {
  let prompt = '';
  let turns = messages;
  if (turns[0]?.role === 'system') {
    prompt = turns[0].content;
    turns = turns.slice(1);
  }
  if (turns.length % 2 === 0) throw new Error('a chatglm2 prompt must end with a user message');
  for (let i = 0; i < turns.length; i++) {
    const expected = i % 2 === 0 ? 'user' : 'assistant';
    if (turns[i].role !== expected) {
      throw new Error(
        `chatglm2 has only a leading system message and alternating user/assistant turns; message ${messages.indexOf(turns[i])} is ${turns[i].role}`,
      );
    }
  }
  for (let round = 1; round * 2 <= turns.length; round++) {
    prompt += `[Round ${round}]\n\n问：${turns[round * 2 - 2].content}\n\n答：${turns[round * 2 - 1].content}\n\n`;
  }
  const query = turns[turns.length - 1].content;
  return `${prompt}[Round ${(turns.length + 1) / 2}]\n\n问：${query}\n\n答：`;
}
