// The one message type shared by datasets, chat templates, training and inference.

export type ChatRole = 'system' | 'user' | 'assistant' | 'observation';

export interface ChatMessage {
  role: ChatRole;
  content: string;
  /** Assistant turns only: 0 excludes the turn from the training loss (OpenAI's `weight`, ChatGLM3's `loss: false`). */
  weight?: 0 | 1;
}
