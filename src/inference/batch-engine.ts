// Continuous batching for one loaded model, inside an inference thread. Every tick admits waiting
// requests (each prompt runs alone through the model — with its own LoRA adapter or P-tuning prefix —
// and its cache rows join the running batch), then decodes one token for every running sequence in a
// single forward pass, whatever fine-tune of this base each sequence belongs to. Finished and
// cancelled sequences leave the batch at once. Sampling reuses src/model/sampling.ts, so a sequence
// is chosen exactly as generate() chooses it.
import * as tf from '@tensorflow/tfjs';
import type { AdapterSet } from '../model/extensions.ts';
import type { KvCache } from '../model/kv-cache.ts';
import type { CausalLanguageModel } from '../model/language-model.ts';
import { Rng } from '../model/random.ts';
import { applyPenalties, chooseToken, logSoftmax, topEntries } from '../model/sampling.ts';
import { concatRows, selectRows } from './cache-rows.ts';
import type { GeneratedTokenMessage, Sampling } from './protocol.ts';
import { batchAdapters } from './row-adapters.ts';

export interface EngineRequest {
  id: string;
  promptIds: readonly number[];
  seeds: readonly number[];
  maxTokens: number;
  sampling: Sampling;
  stopIds: ReadonlySet<number>;
  vocabSize: number;
  logprobs: number | null;
  promptLogprobs: number | null;
  /** LoRA adapters of this request's fine-tune, applied unmerged. */
  adapters?: AdapterSet;
  /** P-tuning v2 prefix of this request's fine-tune (owned by the thread's adapter store). */
  prefix?: tf.Tensor;
}

export type FinishReason = 'stop' | 'length' | 'cancelled';

export interface EngineEvents {
  prompt(id: string, tokens: { logprob: number | null; top: { id: number; logprob: number }[] }[]): void;
  tokens(id: string, tokens: GeneratedTokenMessage[]): void;
  finished(id: string, index: number, reason: FinishReason): void;
  failed(id: string, message: string): void;
}

/** One generated sequence (a choice of a request) in the running batch. */
interface Sequence {
  request: EngineRequest;
  index: number;
  rng: Rng;
  generated: number[];
  finish?: FinishReason;
}

export class BatchEngine {
  private waiting: EngineRequest[] = [];
  private rows: Sequence[] = [];
  /** One row per sequence in `rows`, in the same order; null while nothing runs. */
  private cache: KvCache | null = null;
  /** Cancelled requests (all sequences) and sequences ("id:index") not yet out of the batch. */
  private cancelled = new Set<string>();

  constructor(
    private readonly model: CausalLanguageModel,
    private readonly maxBatch: number,
    private readonly events: EngineEvents,
  ) {}

  get busy(): boolean {
    return this.waiting.length > 0 || this.rows.length > 0;
  }

  /** Sequences decoding now. */
  get running(): number {
    return this.rows.length;
  }

  submit(request: EngineRequest): void {
    // ids past the embedding do not exist, whatever the tokenizer says
    this.waiting.push({ ...request, vocabSize: Math.min(request.vocabSize, this.model.config.paddedVocabSize) });
  }

  cancel(id: string, index?: number): void {
    const queued = this.waiting.findIndex((r) => r.id === id);
    if (queued >= 0 && index === undefined) {
      const [request] = this.waiting.splice(queued, 1);
      request.seeds.forEach((_, i) => this.events.finished(id, i, 'cancelled'));
      return;
    }
    this.cancelled.add(index === undefined ? id : `${id}:${index}`);
  }

  /** One scheduling round: admit what fits, then one decoding step for every running sequence. */
  tick(): void {
    try {
      this.admit();
      this.dropCancelled();
      if (this.rows.length > 0) this.decode();
    } catch (err) {
      this.failAll((err as Error)?.message ?? String(err));
    }
  }

  /** Ends every request with an error (the batch's state is not trusted after a failed pass). */
  failAll(message: string): void {
    const ids = new Set([...this.waiting, ...this.rows.map((s) => s.request)].map((r) => r.id));
    this.waiting = [];
    this.rows = [];
    this.cache?.dispose();
    this.cache = null;
    this.cancelled.clear();
    for (const id of ids) this.events.failed(id, message);
  }

  dispose(): void {
    this.failAll('the model was unloaded');
  }

  private isCancelled(s: Sequence): boolean {
    return this.cancelled.has(s.request.id) || this.cancelled.has(`${s.request.id}:${s.index}`);
  }

  private admit(): void {
    while (this.waiting.length > 0) {
      const next = this.waiting[0];
      // A request larger than the batch still runs, alone.
      if (this.rows.length > 0 && this.rows.length + next.seeds.length > this.maxBatch) return;
      this.waiting.shift();
      if (this.cancelled.delete(next.id)) {
        next.seeds.forEach((_, i) => this.events.finished(next.id, i, 'cancelled'));
        continue;
      }
      try {
        this.prefill(next);
      } catch (err) {
        // this request's own failure (e.g. an id the model has no embedding for); the batch goes on
        this.events.failed(next.id, (err as Error)?.message ?? String(err));
      }
    }
  }

  /** Runs the prompt alone, scores it when asked, picks every sequence's first token, and joins the batch. */
  private prefill(request: EngineRequest): void {
    const { model } = this;
    const scorePrompt = request.promptLogprobs !== null;
    const cache = model.createCache(1, request.prefix);
    let joined = false;
    try {
      const last = tf.tidy(() => {
        const { logits } = model.forward([request.promptIds], { cache, adapters: request.adapters, lastPositionOnly: !scorePrompt }); // [1, T or 1, V]
        const T = logits.shape[1];
        if (scorePrompt) this.events.prompt(request.id, promptScores(logits, request.promptIds, request.vocabSize, request.promptLogprobs!));
        return tf.slice(logits, [0, T - 1, 0], [1, 1, -1]).dataSync() as Float32Array;
      });
      if (request.maxTokens === 0) {
        request.seeds.forEach((_, i) => this.events.finished(request.id, i, 'length'));
        return;
      }
      const sequences = request.seeds.map((seed, index): Sequence => ({ request, index, rng: new Rng(seed), generated: [] }));
      const tokens = sequences.map((s) => this.choose(s, request.seeds.length > 1 ? Float32Array.from(last) : last));
      this.events.tokens(request.id, tokens);
      const alive = sequences.filter((s) => !this.endIfDone(s));
      if (alive.length === 0) return;
      const rows = alive.length === 1 ? cache : selectRows(model, cache, alive.map(() => 0));
      joined = rows === cache;
      this.join(alive, rows);
    } finally {
      if (!joined) cache.dispose();
    }
  }

  /** Adds sequences (with their cache rows) at the end of the running batch. */
  private join(sequences: Sequence[], rows: KvCache): void {
    if (this.cache) {
      const merged = concatRows(this.model, this.cache, rows);
      this.cache.dispose();
      rows.dispose();
      this.cache = merged;
    } else {
      this.cache = rows;
    }
    this.rows.push(...sequences);
  }

  private dropCancelled(): void {
    for (const s of this.rows) if (!s.finish && this.isCancelled(s)) this.end(s, 'cancelled');
    this.compact();
    if (this.rows.length === 0) this.cancelled.clear();
  }

  private decode(): void {
    const { model } = this;
    const V = model.config.paddedVocabSize;
    const adapters = batchAdapters(this.rows.map((s) => s.request.adapters), 1);
    const inputs = this.rows.map((s) => [s.generated[s.generated.length - 1]]);
    const { logits } = model.forward(inputs, { cache: this.cache!, adapters, lastPositionOnly: true }); // [B, 1, V]
    const data = logits.dataSync() as Float32Array;
    logits.dispose();
    const byRequest = new Map<string, GeneratedTokenMessage[]>();
    this.rows.forEach((s, b) => {
      const token = this.choose(s, data.subarray(b * V, (b + 1) * V));
      const list = byRequest.get(s.request.id) ?? [];
      list.push(token);
      byRequest.set(s.request.id, list);
    });
    for (const [id, tokens] of byRequest) this.events.tokens(id, tokens);
    for (const s of this.rows) this.endIfDone(s);
    this.compact();
  }

  /** Picks the sequence's next token from its logits row (changed in place by bias and penalties). */
  private choose(s: Sequence, row: Float32Array): GeneratedTokenMessage {
    const { sampling, vocabSize, logprobs } = s.request;
    const logp = logprobs !== null ? logSoftmax(row, vocabSize) : undefined;
    for (const [id, bias] of sampling.logitBias) row[id] += bias;
    const context = sampling.repetitionPenalty !== 1 ? [...s.request.promptIds, ...s.generated] : [];
    applyPenalties(row, sampling, context, s.generated);
    const id = chooseToken(row, vocabSize, sampling, s.rng);
    s.generated.push(id);
    if (!logp) return { index: s.index, id };
    return { index: s.index, id, logprob: logp[id], top: topEntries(logp, logprobs!).map((e) => ({ id: e.id, logprob: e.value })) };
  }

  /** Ends the sequence if its last token stops it or no room is left; true when it ended. */
  private endIfDone(s: Sequence): boolean {
    const { request } = s;
    if (request.stopIds.has(s.generated[s.generated.length - 1])) this.end(s, 'stop');
    else if (s.generated.length >= request.maxTokens || request.promptIds.length + s.generated.length >= this.model.config.seqLength) this.end(s, 'length');
    return s.finish !== undefined;
  }

  private end(s: Sequence, reason: FinishReason): void {
    s.finish = reason;
    this.cancelled.delete(`${s.request.id}:${s.index}`);
    this.events.finished(s.request.id, s.index, reason);
  }

  /** Drops finished sequences and their cache rows. */
  private compact(): void {
    const keep = this.rows.flatMap((s, b) => (s.finish ? [] : [b]));
    if (keep.length === this.rows.length) return;
    this.rows = keep.map((b) => this.rows[b]);
    const old = this.cache!;
    this.cache = keep.length > 0 ? selectRows(this.model, old, keep) : null;
    old.dispose();
    if (this.rows.length === 0) this.cancelled.clear();
  }
}

/**
 * Log-probabilities of each prompt token given the ones before it (position t's logits predict token
 * t + 1), over the first `vocabSize` ids, with the `k` most likely alternatives. The first token has none.
 */
function promptScores(logits: tf.Tensor3D, ids: readonly number[], vocabSize: number, k: number): { logprob: number | null; top: { id: number; logprob: number }[] }[] {
  const T = ids.length;
  const out: { logprob: number | null; top: { id: number; logprob: number }[] }[] = [{ logprob: null, top: [] }];
  if (T < 2) return out;
  const V = Math.min(vocabSize, logits.shape[2]);
  const logp = tf.logSoftmax(tf.slice(tf.reshape(logits, [T, logits.shape[2]]), [0, 0], [T - 1, V])); // [T-1, V]
  const chosen = tf.gatherND(logp, tf.tensor2d(ids.slice(1).flatMap((id, t) => [t, id]), [T - 1, 2], 'int32')).dataSync();
  const top = k > 0 ? tf.topk(logp, Math.min(k, V)) : undefined;
  const values = top?.values.dataSync();
  const indices = top?.indices.dataSync();
  for (let t = 0; t < T - 1; t++) {
    const alternatives = Array.from({ length: top ? Math.min(k, V) : 0 }, (_, j) => ({ id: indices![t * Math.min(k, V) + j], logprob: values![t * Math.min(k, V) + j] }));
    out.push({ logprob: chosen[t], top: alternatives });
  }
  return out;
}
