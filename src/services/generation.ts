// One running generation, seen from the main thread: the thread's token events become text (per
// choice: detokenized, cut at stop strings, in the reply format), log-probabilities with token
// strings, and finish reasons, delivered as an async iterable of events. It ends the thread's work
// when the caller leaves (disconnect), when the time is up, and per choice when a stop string matched;
// the model lease is released once the thread has let go of every sequence.
import { ChoiceText } from '../inference/choice-text.ts';
import type { InferencePool, Lease } from '../inference/pool.ts';
import type { Sampling, ThreadEvent } from '../inference/protocol.ts';
import type { ReplyFormat } from '../inference/reply-format.ts';
import type { Tokenizer } from '../model/tokenizers/types.ts';
import { inferenceErrors } from './inference-errors.ts';

export interface GenerationParams {
  promptIds: number[];
  /** New tokens per choice (0: score the prompt only). */
  maxTokens: number;
  /** One per choice. */
  seeds: number[];
  sampling: Sampling;
  /** Ids that end a choice; they are counted but not shown. */
  stopIds: number[];
  /** Ids the model may choose: the tokenizer's, within the embedding. */
  vocabSize: number;
  stopStrings: string[];
  /** Alternatives reported per generated token; null: no logprobs. */
  logprobs: number | null;
  /** Alternatives reported per prompt token; null: the prompt is not scored. */
  promptLogprobs: number | null;
  format: ReplyFormat;
}

export interface TokenScore {
  id: number;
  token: string;
  /** null for the first prompt token, which has no context. */
  logprob: number | null;
  top: { id: number; token: string; logprob: number }[];
}

export type GenerationEvent =
  | { type: 'prompt'; tokens: TokenScore[] }
  /** New text of a choice (may be '' when only scored tokens arrived). */
  | { type: 'text'; index: number; text: string; tokens: TokenScore[] }
  | { type: 'finish'; index: number; reason: 'stop' | 'length' };

/** The caller went away: the generation stopped and nobody is listening. */
export class GenerationAbandoned extends Error {
  override name = 'GenerationAbandoned';
}

interface Choice {
  text: ChoiceText;
  /** Tokens the model generated for it (stop ids included). */
  tokens: number;
  /** Its finish was reported to the caller. */
  done: boolean;
  /** The thread has let go of it. */
  released: boolean;
}

export class Generation implements AsyncIterable<GenerationEvent> {
  private readonly choices: Choice[];
  private readonly stopIds: Set<number>;
  private readonly events: GenerationEvent[] = [];
  private wake?: () => void;
  private error?: Error;
  private ended = false;
  private settled = false;
  private readonly id: string;
  private readonly timer: NodeJS.Timeout;

  constructor(
    pool: InferencePool,
    private readonly lease: Lease,
    private readonly params: GenerationParams,
    private readonly tokenizer: Tokenizer,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    /** Called once the thread holds nothing of it, with the tokens generated over all choices. */
    private readonly onEnd: (completionTokens: number) => void,
  ) {
    this.stopIds = new Set(params.stopIds);
    const decode = (ids: readonly number[]) => tokenizer.decode(ids);
    this.choices = params.seeds.map(() => ({ text: new ChoiceText(decode, params.stopStrings, params.format), tokens: 0, done: false, released: false }));
    this.id = pool.generate(
      lease,
      {
        promptIds: params.promptIds,
        seeds: params.seeds,
        maxTokens: params.maxTokens,
        sampling: params.sampling,
        stopIds: params.stopIds,
        vocabSize: params.vocabSize,
        logprobs: params.logprobs,
        promptLogprobs: params.promptLogprobs,
      },
      (event) => this.receive(event),
    );
    this.timer = setTimeout(() => this.stop(inferenceErrors.timeout(timeoutMs)), timeoutMs);
    const onAbort = () => this.stop(new GenerationAbandoned('the client disconnected'));
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  }

  get choiceCount(): number {
    return this.choices.length;
  }

  get promptTokens(): number {
    return this.params.promptIds.length;
  }

  /** Tokens generated over all choices so far (what usage reports). */
  get completionTokens(): number {
    return this.choices.reduce((sum, c) => sum + c.tokens, 0);
  }

  /** The shown text of a choice so far. */
  text(index: number): string {
    return this.choices[index].text.text;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<GenerationEvent> {
    for (;;) {
      if (this.events.length > 0) {
        yield this.events.shift()!;
        continue;
      }
      if (this.error) throw this.error;
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private push(event: GenerationEvent): void {
    this.events.push(event);
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private score(id: number, logprob: number | null, top: { id: number; logprob: number }[]): TokenScore {
    const token = (t: number) => this.tokenizer.decode([t]);
    return { id, token: token(id), logprob, top: top.map((a) => ({ id: a.id, token: token(a.id), logprob: a.logprob })) };
  }

  private receive(event: ThreadEvent): void {
    switch (event.type) {
      case 'prompt':
        this.push({ type: 'prompt', tokens: event.tokens.map((t, i) => this.score(this.params.promptIds[i], t.logprob, t.top)) });
        break;
      case 'tokens':
        for (const t of event.tokens) {
          const choice = this.choices[t.index];
          if (choice.done) continue; // after its stop string: the thread had not heard yet
          choice.tokens++;
          if (this.stopIds.has(t.id)) continue; // its finish follows
          const text = choice.text.push(t.id);
          const tokens = t.logprob === undefined ? [] : [this.score(t.id, t.logprob, t.top ?? [])];
          if (text || tokens.length > 0) this.push({ type: 'text', index: t.index, text, tokens });
          if (choice.text.stoppedBy !== undefined) {
            this.lease.thread.cancel(this.id, t.index);
            this.finish(t.index, 'stop');
          }
        }
        break;
      case 'finished': {
        const choice = this.choices[event.index];
        choice.released = true;
        if (!choice.done && event.reason !== 'cancelled') {
          const rest = choice.text.end();
          if (rest) this.push({ type: 'text', index: event.index, text: rest, tokens: [] });
          this.finish(event.index, event.reason);
        }
        this.settle();
        break;
      }
      case 'failed':
        for (const choice of this.choices) choice.released = true;
        this.stop(inferenceErrors.generationFailed(event.message));
        break;
    }
  }

  private finish(index: number, reason: 'stop' | 'length'): void {
    this.choices[index].done = true;
    this.push({ type: 'finish', index, reason });
    if (this.choices.every((c) => c.done)) {
      this.ended = true;
      clearTimeout(this.timer);
      this.notify();
    }
  }

  /** The caller will not read it (e.g. a sibling prompt's generation failed to start). */
  abandon(): void {
    this.stop(new GenerationAbandoned('abandoned by its caller'));
  }

  /** Ends the generation with an error: the thread stops every sequence. */
  private stop(error: Error): void {
    if (!this.ended) {
      this.error = error;
      this.ended = true;
      for (const choice of this.choices) choice.done = true;
      this.lease.thread.cancel(this.id);
    }
    clearTimeout(this.timer);
    this.notify();
    this.settle();
  }

  /** Once the thread holds no sequence of this generation: stop listening and release the model. */
  private settle(): void {
    if (this.settled || !this.choices.every((c) => c.released)) return;
    this.settled = true;
    this.lease.thread.forget(this.id);
    this.lease.release();
    clearTimeout(this.timer);
    this.onEnd(this.completionTokens);
  }
}
