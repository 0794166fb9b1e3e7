// Which orders of turns make a trainable conversation. Applied to the formats that list turns
// (OpenAI chat, ShareGPT, ChatGLM3); the others build their turns in this order by construction.
//
// The rules, as a grammar:  system? user assistant (observation assistant)* (user assistant (observation assistant)*)*
// - a system message only first, at most one;
// - user and assistant alternate, starting with user: two user turns in a row have no reply between
//   them, and the chat templates give no way to train two replies in a row;
// - an observation (a tool's result, ChatGLM3) only after an assistant turn, and an assistant turn
//   answers it;
// - the conversation ends with an assistant reply (a trailing user turn would teach nothing).
import type { ChatMessage, ChatRole } from '../../model/chat.ts';
import { LineProblem, listOf } from './fields.ts';

const MAY_FOLLOW: Readonly<Record<ChatRole | 'start', readonly ChatRole[]>> = {
  start: ['system', 'user'],
  system: ['user'],
  user: ['assistant'],
  assistant: ['user', 'observation'],
  observation: ['assistant'],
};

const ARTICLE: Readonly<Record<ChatRole, string>> = {
  system: 'a system',
  user: 'a user',
  assistant: 'an assistant',
  observation: 'an observation',
};

/** Throws a LineProblem naming the first turn out of order; `pathOf(i)` names turn i in the file. */
export function checkTurnOrder(messages: readonly ChatMessage[], listPath: string, pathOf: (i: number) => string): void {
  let previous: ChatRole | 'start' = 'start';
  for (let i = 0; i < messages.length; i++) {
    const role = messages[i].role;
    if (!MAY_FOLLOW[previous].includes(role)) {
      const what = `${pathOf(i)} is ${ARTICLE[role]} message`;
      if (role === 'system') throw new LineProblem(`${what}; a system message may only come first`);
      if (previous === 'start') throw new LineProblem(`${what}; a conversation starts with a system or user message`);
      throw new LineProblem(`${what} after ${ARTICLE[previous]} message (expected ${listOf(MAY_FOLLOW[previous])})`);
    }
    previous = role;
  }
  if (!messages.some((m) => m.role === 'assistant')) throw new LineProblem(`${listPath} has no assistant reply`);
  if (previous !== 'assistant') {
    throw new LineProblem(`${pathOf(messages.length - 1)} is ${ARTICLE[previous as ChatRole]} message with no assistant reply after it`);
  }
}
