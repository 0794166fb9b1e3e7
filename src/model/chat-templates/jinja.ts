// A `chat_template` from tokenizer_config.json, rendered with @huggingface/jinja and tokenized with
// special-token text recognised, as Hugging Face's apply_chat_template does.
//
// Training examples (used only for models outside the GLM families, which have THUDM's own builders):
// the conversation is rendered one message at a time, each rendering must extend the previous one,
// and the text each message adds is tokenized on its own. An assistant turn's header (what
// add_generation_prompt renders) is not a target; the rest of the turn, with whatever end-of-turn text
// the template writes after it, is.
import { Template } from '@huggingface/jinja';
import type { ChatMessage } from '../chat.ts';
import type { Tokenizer } from '../tokenizers/types.ts';
import type { TokenizerConfigJson } from '../tokenizers/load.ts';
import { IGNORE_INDEX, type ChatTemplate, type TrainingExample } from './types.ts';

const SPECIAL_TOKEN_VARIABLES = ['bos_token', 'eos_token', 'unk_token', 'pad_token'] as const;

export function jinjaTemplate(source: string, tokenizer: Tokenizer, config: TokenizerConfigJson): ChatTemplate {
  const template = new Template(source);
  // Hugging Face passes the tokenizer's special tokens to the template as variables.
  const variables: Record<string, string> = {};
  for (const name of SPECIAL_TOKEN_VARIABLES) {
    const token = config[name];
    if (typeof token === 'string') variables[name] = token;
    else if (typeof token === 'object' && token !== null && 'content' in token) variables[name] = String(token.content);
  }
  const render = (messages: readonly ChatMessage[], addGenerationPrompt: boolean): string =>
    template.render({
      ...variables,
      messages: messages.map(({ role, content }) => ({ role, content })),
      add_generation_prompt: addGenerationPrompt,
    });
  const encode = (text: string) => tokenizer.encode(text, { specials: true });

  return {
    name: 'chat_template',
    stopIds: [tokenizer.eosId],
    generationPrompt(messages) {
      return encode(render(messages, true));
    },
    trainingExample(messages, options = {}): TrainingExample {
      const inputIds: number[] = [];
      const labels: number[] = [];
      let rendered = '';
      const append = (text: string, target: boolean) => {
        if (!text.startsWith(rendered)) {
          throw new Error('the chat_template does not render a conversation as a growing text, so its turns cannot be labelled');
        }
        for (const id of encode(text.slice(rendered.length))) {
          inputIds.push(id);
          labels.push(target ? id : IGNORE_INDEX);
        }
        rendered = text;
      };
      messages.forEach((message, i) => {
        const upToHere = messages.slice(0, i + 1);
        if (message.role === 'assistant') {
          append(render(messages.slice(0, i), true), options.trainOnInputs === true);
          append(render(upToHere, false), message.weight !== 0);
        } else {
          append(render(upToHere, false), options.trainOnInputs === true);
        }
      });
      return { inputIds, labels };
    },
  };
}

/** The template text a tokenizer_config.json gives (a string, or the one named "default" in a list). */
export function chatTemplateSource(config: TokenizerConfigJson): string | undefined {
  const source = config.chat_template;
  if (Array.isArray(source)) return source.find((entry) => entry.name === 'default')?.template;
  return source;
}
