// The role-token chat format of ChatGLM3 and GLM-4: a `[gMASK] sop` prefix, then each message as
// `<|role|>` + encode(metadata + "\n") + encode(content), where metadata is always empty here.
// Generation (THUDM's build_chat_input / chat()) ends the prompt with `<|assistant|>`; a training
// example (ChatGLM3's finetune_hf.py, GLM-4's finetune.py) ends with an end token, and its labels
// are the tokens that FOLLOW a target message's tokens: a target turn's role token is not a label,
// its newline and content are, and so is the token right after it (the next role token or the end
// token), which teaches the model to stop.
import type { ChatMessage, ChatRole } from '../chat.ts';
import type { Tokenizer } from '../tokenizers/types.ts';
import { IGNORE_INDEX, type ChatTemplate, type TrainingExample } from './types.ts';

export interface RoleTurnDialect {
  name: string;
  /** Special tokens before the first message. */
  prefix: readonly [string, string];
  /** GLM-4 leaves messages with empty content out entirely; ChatGLM3 keeps them as `<|role|>` + "\n". */
  skipEmptyMessages: boolean;
  /** Roles whose turns are training targets. */
  targetRoles: readonly ChatRole[];
  /** The id that ends a training example. */
  trainingEndId(tokenizer: Tokenizer): number;
}

const ROLE_TOKENS: Record<ChatRole, string> = {
  system: '<|system|>',
  user: '<|user|>',
  assistant: '<|assistant|>',
  observation: '<|observation|>',
};

export function roleTurnTemplate(tokenizer: Tokenizer, dialect: RoleTurnDialect): ChatTemplate {
  const special = (token: string): number => {
    const id = tokenizer.specialTokens[token];
    if (id === undefined) throw new Error(`the ${dialect.name} chat template needs the special token ${token}`);
    return id;
  };
  const prefixIds = dialect.prefix.map(special);
  const roleIds = Object.fromEntries(
    Object.entries(ROLE_TOKENS).map(([role, token]) => [role, special(token)]),
  ) as Record<ChatRole, number>;
  const newlineIds = tokenizer.encode('\n');
  const trainingEndId = dialect.trainingEndId(tokenizer);

  const included = (messages: readonly ChatMessage[]) =>
    dialect.skipEmptyMessages ? messages.filter((message) => message.content !== '') : messages;
  const messageIds = (message: ChatMessage): number[] => [
    roleIds[message.role],
    ...newlineIds,
    ...tokenizer.encode(message.content),
  ];

  return {
    name: dialect.name,
    stopIds: [tokenizer.eosId, roleIds.user, roleIds.observation],
    generationPrompt(messages) {
      return [...prefixIds, ...included(messages).flatMap(messageIds), roleIds.assistant];
    },
    trainingExample(messages, options = {}): TrainingExample {
      const trainOnInputs = options.trainOnInputs === true;
      const inputIds = [...prefixIds];
      const isTarget = prefixIds.map(() => trainOnInputs);
      for (const message of included(messages)) {
        const target =
          message.weight !== 0 && (trainOnInputs || dialect.targetRoles.includes(message.role));
        for (const id of messageIds(message)) {
          inputIds.push(id);
          isTarget.push(target);
        }
      }
      inputIds.push(trainingEndId);
      // A token is a label when the token before it belongs to a target turn.
      const labels = inputIds.map((id, i) => (i > 0 && isTarget[i - 1] ? id : IGNORE_INDEX));
      return { inputIds, labels };
    },
  };
}
