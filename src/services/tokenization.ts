// vLLM's /tokenize and /detokenize: a model's tokenizer and chat template, exactly as generation uses
// them, so callers can count tokens and check what the model is given. No model weights are loaded.
import { errors } from '../errors.ts';
import { textPromptIds } from '../inference/special-tokens.ts';
import type { Principal } from './auth.ts';
import { type ChatMessageInput, chatMessages, renderChat } from './chat-completions.ts';
import type { InferenceService } from './inference.ts';
import { checkPromptCharacters } from './prompt-limits.ts';

export interface TokenizeRequest {
  model: string;
  prompt?: string;
  messages?: ChatMessageInput[];
  add_generation_prompt: boolean;
  add_special_tokens: boolean;
  return_token_strs: boolean;
}

export interface Tokenized {
  count: number;
  max_model_len: number;
  tokens: number[];
  token_strs: string[] | null;
}

export class TokenizationService {
  constructor(private readonly inference: InferenceService) {}

  async tokenize(principal: Principal, body: TokenizeRequest): Promise<Tokenized> {
    if ((body.prompt === undefined) === (body.messages === undefined)) throw errors.invalid('Give either prompt or messages.', body.prompt === undefined ? 'prompt' : 'messages');
    const served = await this.inference.model(principal.organizationId, body.model);
    let tokens: number[];
    if (body.prompt !== undefined) {
      checkPromptCharacters(body.prompt.length, served.contextLength, 'prompt');
      tokens = textPromptIds(served.tokenizer, body.prompt, body.add_special_tokens);
    } else {
      const messages = chatMessages(body.messages!);
      checkPromptCharacters(messages.reduce((sum, m) => sum + m.content.length, 0), served.contextLength, 'messages');
      const template = await served.template();
      if (body.add_generation_prompt) {
        tokens = renderChat(template, messages);
      } else {
        if (messages.at(-1)?.role !== 'assistant') throw errors.invalid('With add_generation_prompt false, the conversation must end with an assistant message.', 'messages');
        try {
          tokens = template.trainingExample(messages).inputIds;
        } catch (err) {
          throw errors.invalid(`The messages do not fit this model's chat template: ${(err as Error).message}.`, 'messages');
        }
      }
    }
    return {
      count: tokens.length,
      max_model_len: served.contextLength,
      tokens,
      token_strs: body.return_token_strs ? tokens.map((id) => served.tokenizer.decode([id])) : null,
    };
  }

  async detokenize(principal: Principal, body: { model: string; tokens: number[] }): Promise<{ prompt: string }> {
    const served = await this.inference.model(principal.organizationId, body.model);
    const bad = body.tokens.findIndex((id) => id >= served.tokenizer.vocabSize);
    if (bad >= 0) throw errors.invalid(`Token id ${body.tokens[bad]} is not in this model's vocabulary (0 to ${served.tokenizer.vocabSize - 1}).`, `tokens[${bad}]`);
    return { prompt: served.tokenizer.decode(body.tokens) };
  }
}
