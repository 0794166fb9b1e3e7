// How a model turns chat messages into token ids, for generation and for training.
import type { ChatMessage } from '../chat.ts';

export interface TrainingExample {
  inputIds: number[];
  /** Same length as inputIds; -100 where the token is not a training target. */
  labels: number[];
}

export interface ChatTemplate {
  readonly name: string;
  /** Prompt ids for answering after `messages`, ending with the assistant cue. */
  generationPrompt(messages: readonly ChatMessage[]): number[];
  /**
   * The whole conversation as a fine-tuning example. Labels follow the model's own fine-tuning
   * scripts; assistant turns with `weight: 0` are not targets; `trainOnInputs` makes every token a target.
   */
  trainingExample(messages: readonly ChatMessage[], options?: { trainOnInputs?: boolean }): TrainingExample;
  /** Ids that end an assistant reply in generation. */
  readonly stopIds: readonly number[];
}
