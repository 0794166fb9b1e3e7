// One model's side of the playground: its own conversation, with replies streamed token by token
// from /v1/chat/completions (OpenAI's chunk format).
import { request } from '../api/client.ts';
import { readEvents } from '../api/sse.ts';
import type { ChatChunk, ChatMessage } from '../api/types.ts';
import { h, uid } from '../dom.ts';

export interface Sampling {
  temperature: number;
  top_p: number;
  max_tokens: number;
  system: string;
}

export class ChatPane {
  readonly element: HTMLElement;
  private readonly transcript: HTMLOListElement;
  private readonly title: HTMLElement;
  private history: ChatMessage[] = [];

  constructor(private model: string, role: string) {
    const titleId = uid('pane');
    this.title = h('h2', { id: titleId });
    this.transcript = h('ol', { class: 'transcript', role: 'log', 'aria-live': 'polite', 'aria-labelledby': titleId });
    this.element = h('section', { class: 'chat-pane', 'data-pane': role, 'aria-labelledby': titleId }, this.title, this.transcript);
    this.setModel(model);
  }

  setModel(model: string): void {
    this.model = model;
    this.title.replaceChildren(h('span', { class: 'hint' }, this.element.dataset.pane === 'base' ? 'Base model ' : 'Model '), h('code', {}, model));
    this.clear();
  }

  clear(): void {
    this.history = [];
    this.transcript.replaceChildren();
  }

  /** Sends the user's message with this pane's history; streams the reply into the transcript. */
  async send(text: string, sampling: Sampling, signal: AbortSignal): Promise<void> {
    this.history.push({ role: 'user', content: text });
    this.transcript.append(bubble('user', text));
    const content = h('div', { class: 'content' });
    const reply = h('li', { class: 'message assistant', 'aria-busy': 'true' }, h('span', { class: 'visually-hidden' }, 'Reply: '), content);
    this.transcript.append(reply);
    let answer = '';
    try {
      const messages = sampling.system ? [{ role: 'system', content: sampling.system }, ...this.history] : this.history;
      const response = await request('/v1/chat/completions', {
        method: 'POST',
        body: { model: this.model, messages, stream: true, temperature: sampling.temperature, top_p: sampling.top_p, max_tokens: sampling.max_tokens },
        signal,
      });
      let finish: string | null = null;
      for await (const data of readEvents(response)) {
        const choice = (JSON.parse(data) as ChatChunk).choices[0];
        if (!choice) continue;
        answer += choice.delta.content ?? '';
        content.textContent = answer;
        finish = choice.finish_reason ?? finish;
      }
      if (finish === 'length') reply.append(h('p', { class: 'hint' }, 'Stopped at the token limit.'));
    } catch (err) {
      reply.append(h('p', { class: 'notice notice-error' }, (err as Error).name === 'AbortError' ? 'Stopped.' : (err as Error).message));
    } finally {
      reply.removeAttribute('aria-busy');
      reply.dataset.done = 'true';
      // A stopped or failed reply still counts as what the model said so far.
      this.history.push({ role: 'assistant', content: answer });
    }
  }
}

function bubble(role: 'user' | 'assistant', text: string): HTMLElement {
  return h('li', { class: `message ${role}` }, h('span', { class: 'visually-hidden' }, role === 'user' ? 'You: ' : 'Reply: '), h('div', { class: 'content' }, text));
}
