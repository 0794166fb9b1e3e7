// How a model turns chat messages into token ids, for generation and for training.
import type { ChatMessage } from '../chat.ts';

/** The label of a token that is not a training target (PyTorch's cross-entropy ignore_index). */
export const IGNORE_INDEX = -100;

export interface TrainingExample {
  inputIds: number[];
  /**
   * Same length as inputIds: the token id where the token is a training target, else IGNORE_INDEX.
   * Not shifted: the loss compares the logits at t with labels[t + 1].
   */
  labels: number[];
}

export interface ChatTemplate {
  readonly name: string;
  /** Prompt ids for the assistant's reply after `messages`, ending with the assistant cue. */
  generationPrompt(messages: readonly ChatMessage[]): number[];
  /**
   * The whole conversation as a fine-tuning example. Labels follow the model's own fine-tuning
   * scripts; assistant turns with `weight: 0` are not targets; `trainOnInputs` makes the prompt
   * (system, user, observation turns and the prefix) targets too, weight-0 turns still excepted.
   */
  trainingExample(messages: readonly ChatMessage[], options?: { trainOnInputs?: boolean }): TrainingExample;
  /** Ids that end an assistant reply in generation. */
  readonly stopIds: readonly number[];
}
