// Generation metrics on validation samples: greedy replies to each sample's prompt (the conversation up
// to its final assistant turn), scored against that turn with ROUGE-1/2/L on jieba words and BLEU-4 on
// characters, each ×100 and averaged over the samples (THUDM's ptuning/main.py, LLaMA-Factory). Both
// texts are stripped first, as ChatGLM3's finetune_hf.py does: its replies begin with the "\n" after
// the assistant cue.
import type * as tf from '@tensorflow/tfjs';
import type { ChatMessage } from '../../model/chat.ts';
import type { ChatTemplate } from '../../model/chat-templates/types.ts';
import type { AdapterSet } from '../../model/extensions.ts';
import { generate } from '../../model/generate.ts';
import type { GlmModel } from '../../model/glm.ts';
import type { CausalLanguageModel } from '../../model/language-model.ts';
import type { Tokenizer } from '../../model/tokenizers/types.ts';
import { characterBleu4 } from './bleu.ts';
import { jiebaRouge } from './rouge.ts';

export interface GenerationMetrics {
  'rouge-1': number;
  'rouge-2': number;
  'rouge-l': number;
  'bleu-4': number;
  samples: number;
}

/** What a generation pass adds to the model (the method's eval-mode adapters or prefix; nothing for a base). */
export interface GenerationExtras {
  adapters?: AdapterSet;
  prefix?: tf.Tensor;
}

/** The prompt (every message before the final assistant turn) and the reference reply; null without one. */
export function promptAndReference(messages: readonly ChatMessage[]): { prompt: ChatMessage[]; reference: string } | null {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i].role === 'assistant') return { prompt: messages.slice(0, i), reference: messages[i].content };
  }
  return null;
}

export async function generationMetrics(
  model: CausalLanguageModel,
  template: ChatTemplate,
  tokenizer: Tokenizer,
  conversations: readonly (readonly ChatMessage[])[],
  options: { maxNewTokens: number; extras: () => GenerationExtras; signal?: AbortSignal },
): Promise<GenerationMetrics> {
  const sums = { 'rouge-1': 0, 'rouge-2': 0, 'rouge-l': 0, 'bleu-4': 0 };
  let samples = 0;
  for (const messages of conversations) {
    const pair = promptAndReference(messages);
    if (!pair) continue;
    const extras = options.extras();
    try {
      // generate() is typed on GlmModel but uses only the CausalLanguageModel surface
      const result = await generate(model as GlmModel, template.generationPrompt(pair.prompt), {
        maxNewTokens: options.maxNewTokens,
        stopIds: template.stopIds,
        vocabSize: tokenizer.vocabSize,
        decode: (ids) => tokenizer.decode(ids),
        adapters: extras.adapters,
        prefix: extras.prefix,
        signal: options.signal,
      });
      const text = (result.text ?? '').trim();
      const reference = pair.reference.trim();
      const rouge = jiebaRouge(text, reference);
      sums['rouge-1'] += rouge['rouge-1'];
      sums['rouge-2'] += rouge['rouge-2'];
      sums['rouge-l'] += rouge['rouge-l'];
      sums['bleu-4'] += characterBleu4(reference, text);
      samples++;
    } finally {
      extras.prefix?.dispose();
    }
  }
  const mean = (v: number) => (samples === 0 ? 0 : v / samples);
  return { 'rouge-1': mean(sums['rouge-1']), 'rouge-2': mean(sums['rouge-2']), 'rouge-l': mean(sums['rouge-l']), 'bleu-4': mean(sums['bleu-4']), samples };
}
