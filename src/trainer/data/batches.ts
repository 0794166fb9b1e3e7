// Micro-batches: which examples each optimizer step trains on, and how a micro-batch is padded.
import { IGNORE_INDEX } from '../../model/chat-templates/types.ts';
import { epochOrder } from './order.ts';

export interface Batch {
  /** [B, T], right-padded with the tokenizer's pad id to the longest row of this batch. */
  inputIds: number[][];
  /** [B, T], IGNORE_INDEX on pads. */
  labels: number[][];
  /** Real (non-pad) tokens. */
  tokens: number;
  /** Labels the loss predicts (targets at t ≥ 1): the weight of this batch in a token-weighted mean. */
  targets: number;
}

/**
 * Pads a micro-batch on the RIGHT. In a causal model a real token never attends to the pads after it,
 * and position ids count each row from 0, so every real token computes exactly what it would alone:
 * no attention mask is needed (ChatGLM's left padding is for generation, where rows must end together).
 */
export function collate(examples: readonly { inputIds: readonly number[]; labels: readonly number[] }[], padId: number): Batch {
  const width = Math.max(...examples.map((e) => e.inputIds.length));
  let tokens = 0;
  let targets = 0;
  const inputIds: number[][] = [];
  const labels: number[][] = [];
  for (const e of examples) {
    const pad = width - e.inputIds.length;
    inputIds.push([...e.inputIds, ...new Array<number>(pad).fill(padId)]);
    labels.push([...e.labels, ...new Array<number>(pad).fill(IGNORE_INDEX)]);
    tokens += e.inputIds.length;
    for (let t = 1; t < e.labels.length; t++) if (e.labels[t] !== IGNORE_INDEX) targets++;
  }
  return { inputIds, labels, tokens, targets };
}

/** Where a run is in its data: the epoch and the optimizer step within it. */
export interface DataPosition {
  epoch: number;
  stepInEpoch: number;
}

/**
 * The data of each optimizer step. An epoch is the training examples in a seeded order, cut into
 * micro-batches of `batchSize` (the last may be smaller); `accumulation` consecutive micro-batches
 * make one step (an epoch's last step may have fewer). Runs past one epoch continue with the next order.
 */
export class DataPlan {
  readonly microBatchesPerEpoch: number;
  readonly stepsPerEpoch: number;
  private cached: { epoch: number; order: number[] } | undefined;

  constructor(readonly exampleCount: number, readonly batchSize: number, readonly accumulation: number, private readonly seed: number) {
    if (exampleCount === 0) throw new Error('no training examples');
    this.microBatchesPerEpoch = Math.ceil(exampleCount / batchSize);
    this.stepsPerEpoch = Math.ceil(this.microBatchesPerEpoch / accumulation);
  }

  position(step: number): DataPosition {
    return { epoch: Math.floor(step / this.stepsPerEpoch), stepInEpoch: step % this.stepsPerEpoch };
  }

  /** Example indices of each micro-batch of optimizer step `step` (0-based). */
  microBatches(step: number): number[][] {
    const { epoch, stepInEpoch } = this.position(step);
    const order = this.order(epoch);
    const first = stepInEpoch * this.accumulation;
    const last = Math.min(first + this.accumulation, this.microBatchesPerEpoch);
    const batches: number[][] = [];
    for (let m = first; m < last; m++) batches.push(order.slice(m * this.batchSize, (m + 1) * this.batchSize));
    return batches;
  }

  private order(epoch: number): number[] {
    if (this.cached?.epoch !== epoch) this.cached = { epoch, order: epochOrder(this.exampleCount, this.seed, epoch) };
    return this.cached.order;
  }
}
