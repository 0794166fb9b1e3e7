// POST /v1/fine_tuning/estimate: what a would-be job costs before it is queued — its tokens (counted
// with the model's own tokenizer and template), steps, duration on this server, and whether the method
// fits in memory (base weights, trainable weights, gradients, optimizer state, activations).
import { totalmem } from 'node:os';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { and, desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { jobEvents, jobs } from '../../db/schema/index.ts';
import { readExamples } from '../../datasets/index.ts';
import { expectedTensorShapes, parameterCount, type ModelConfig } from '../../model/config.ts';
import { templateFor } from '../../model/chat-templates/select.ts';
import { IGNORE_INDEX } from '../../model/chat-templates/types.ts';
import { loadTokenizer } from '../../model/tokenizers/load.ts';
import type { BlobStore } from '../../storage/blob-store.ts';
import type { TrainingConfig } from '../../trainer/config.ts';
import { DataPlan } from '../../trainer/data/batches.ts';
import { encodeConversation } from '../../trainer/data/encode.ts';
import { splitValidation } from '../../trainer/data/order.ts';
import type { FileRow } from '../../db/schema/index.ts';
import type { Principal } from '../auth.ts';
import type { CreateJobRequest, JobService } from './jobs.ts';

const GiB = 1024 ** 3;
/** The wasm backend addresses at most 4 GiB: every tensor of a run (weights, activations) lives there. */
const WASM_HEAP_BYTES = 4 * GiB;
/** Training FLOP rate assumed when this server has not trained this model and method yet. */
const ASSUMED_FLOPS: Record<string, number> = { tensorflow: 5e12, wasm: 2e10, cpu: 1e9 };

export interface Estimate {
  method: string;
  hyperparameters: { n_epochs: number; batch_size: number; learning_rate_multiplier: number };
  examples: number;
  validation_examples: number;
  /** Tokens of the training set once (after truncation to max_seq_len), and target tokens among them. */
  tokens_per_epoch: number;
  target_tokens_per_epoch: number;
  truncated_examples: number;
  dropped_examples: number;
  steps_per_epoch: number;
  total_steps: number;
  trained_tokens: number;
  estimated_seconds: number;
  tokens_per_second: number;
  throughput_source: 'measured' | 'assumed';
  memory: {
    parameters: number;
    trainable_parameters: number;
    frozen_weight_bytes: number;
    trainable_bytes: number;
    gradient_bytes: number;
    optimizer_bytes: number;
    activation_bytes: number;
    total_bytes: number;
    available_bytes: number;
    limit: 'wasm_heap' | 'system_memory';
    fits: boolean;
  };
}

interface TokenCount {
  examples: number;
  tokens: number;
  targets: number;
  truncated: number;
  dropped: number;
  /** Per example, to size the validation split. */
  lengths: number[];
}

/** Parameters a method trains, computed from the config's tensor shapes (no weights needed). */
export function trainableParameters(config: ModelConfig, method: TrainingConfig['method']): number {
  const shapes = [...expectedTensorShapes(config)];
  const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  switch (method.type) {
    case 'full':
      return parameterCount(config);
    case 'freeze': {
      const first = config.numLayers - method.layers;
      const inTrainedLayer = (name: string) => {
        const match = /\.layers\.(\d+)\./.exec(name);
        return match !== null && Number(match[1]) >= first;
      };
      const head = (name: string) => method.also_output_layer && /(output_layer|final_layernorm|lm_head)/.test(name);
      return shapes.filter(([name]) => inTrainedLayer(name) || head(name)).reduce((n, [, shape]) => n + size(shape), 0);
    }
    case 'lora':
    case 'qlora':
      // r·(in + out) per targeted linear weight [out, in].
      return shapes
        .filter(([name, shape]) => shape.length === 2 && method.target_modules.some((m) => name.endsWith(`.${m}.weight`)))
        .reduce((n, [, [out, inFeatures]]) => n + method.r * (inFeatures + out), 0);
    case 'ptuning_v2': {
      const width = config.architecture === 'chatglm6b' ? config.numLayers * 2 * config.hiddenSize : config.numLayers * 2 * config.multiQueryGroupNum * config.kvChannels;
      if (!method.prefix_projection) return method.pre_seq_len * width;
      const hidden = method.prefix_hidden_size ?? config.hiddenSize;
      return method.pre_seq_len * config.hiddenSize + (config.hiddenSize + 1) * hidden + (hidden + 1) * width;
    }
  }
}

/** Bytes of the frozen base as the method holds it (QLoRA keeps linear weights packed). */
function frozenBytes(config: ModelConfig, method: TrainingConfig['method']): number {
  if (method.type !== 'qlora') return parameterCount(config) * 4;
  let bytes = 0;
  for (const [name, shape] of expectedTensorShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const linear = shape.length === 2 && /\.(query_key_value|dense|dense_h_to_4h|dense_4h_to_h)\.weight$/.test(name);
    bytes += linear ? n * (method.quantization_bits === 4 ? 0.5625 : 1.004) : n * 4;
  }
  return Math.round(bytes);
}

/**
 * Activations TF.js keeps for the backward pass of one micro-batch (float32): per layer about
 * 68·h + 10·heads·seq bytes per token (Korthikanti et al.'s 34·h + 5·a·s for fp16, doubled), plus the
 * logits and their softmax.
 */
function activationBytes(config: ModelConfig, batch: number, seq: number): number {
  const perLayer = batch * seq * (68 * config.hiddenSize + 10 * config.numAttentionHeads * seq);
  return perLayer * config.numLayers + batch * seq * config.paddedVocabSize * 4 * 3;
}

export class JobEstimator {
  private readonly counts = new Map<string, TokenCount>();

  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    private readonly jobs: JobService,
    private readonly backend: () => string | undefined,
  ) {}

  async estimate(principal: Principal, body: CreateJobRequest): Promise<Estimate> {
    const { resolved, trainingFile, validationFile, training, hp } = await this.jobs.prepare(principal, body);
    const config = resolved.config;
    const maxSeqLen = Math.min(training.max_seq_len ?? config.seqLength, config.seqLength);
    const train = await this.countTokens(trainingFile, resolved.base.path, maxSeqLen, training.train_on_inputs);
    const split = validationFile ? { train: train.lengths, validation: [] as number[] } : splitValidation(train.lengths, training.validation_split, training.seed);
    const examples = split.train.length;
    const plan = new DataPlan(examples, training.batch_size, training.gradient_accumulation_steps, training.seed);
    const totalSteps = training.max_steps ?? training.epochs * plan.stepsPerEpoch;
    const tokensPerEpoch = split.train.reduce((a, b) => a + b, 0);
    const trainedTokens = Math.round((tokensPerEpoch * totalSteps) / Math.max(1, plan.stepsPerEpoch));

    const parameters = parameterCount(config);
    const trainable = trainableParameters(config, training.method);
    const longest = Math.max(1, ...split.train);
    const backend = this.backend() ?? 'wasm';
    const memory = {
      parameters,
      trainable_parameters: trainable,
      frozen_weight_bytes: frozenBytes(config, training.method) - (training.method.type === 'full' || training.method.type === 'freeze' ? trainable * 4 : 0),
      trainable_bytes: trainable * 4,
      gradient_bytes: trainable * 4,
      optimizer_bytes: trainable * 8, // AdamW's two moments
      activation_bytes: activationBytes(config, training.batch_size, longest),
      total_bytes: 0,
      available_bytes: backend === 'wasm' ? WASM_HEAP_BYTES : totalmem(),
      limit: (backend === 'wasm' ? 'wasm_heap' : 'system_memory') as 'wasm_heap' | 'system_memory',
      fits: false,
    };
    memory.total_bytes = memory.frozen_weight_bytes + memory.trainable_bytes + memory.gradient_bytes + memory.optimizer_bytes + memory.activation_bytes;
    memory.fits = memory.total_bytes <= memory.available_bytes;

    const measured = await this.measuredTokensPerSecond(resolved.base.id, training.method.type);
    // Frozen weights still cost the forward and the input gradients: about 4·P FLOPs per token, 6·P when all train.
    const flopsPerToken = (training.method.type === 'full' ? 6 : 4) * parameters + 2 * trainable;
    const tokensPerSecond = measured ?? (ASSUMED_FLOPS[backend] ?? ASSUMED_FLOPS.wasm) / flopsPerToken;
    return {
      method: training.method.type,
      hyperparameters: hp,
      examples,
      validation_examples: validationFile?.examples ?? split.validation.length,
      tokens_per_epoch: tokensPerEpoch,
      target_tokens_per_epoch: train.targets,
      truncated_examples: train.truncated,
      dropped_examples: train.dropped,
      steps_per_epoch: plan.stepsPerEpoch,
      total_steps: totalSteps,
      trained_tokens: trainedTokens,
      estimated_seconds: Math.ceil(trainedTokens / tokensPerSecond),
      tokens_per_second: tokensPerSecond,
      throughput_source: measured === undefined ? 'assumed' : 'measured',
      memory,
    };
  }

  /**
   * Tokenizes the dataset as the trainer will (same template, truncation and drops). Files never
   * change, so counts are cached; the loop yields to the event loop as it goes.
   */
  private async countTokens(file: FileRow, modelDir: string, maxSeqLen: number, trainOnInputs: boolean): Promise<TokenCount> {
    const key = `${file.id}\u0000${modelDir}\u0000${maxSeqLen}\u0000${trainOnInputs}`;
    const cached = this.counts.get(key);
    if (cached) return cached;
    const template = await templateFor(modelDir, await loadTokenizer(modelDir));
    const count: TokenCount = { examples: 0, tokens: 0, targets: 0, truncated: 0, dropped: 0, lengths: [] };
    for await (const { messages } of readExamples(await this.blobs.get(file.objectKey))) {
      const encoded = encodeConversation(template, messages, { maxSeqLen, trainOnInputs });
      if (!encoded) {
        count.dropped++;
        continue;
      }
      count.examples++;
      if (encoded.truncated) count.truncated++;
      count.tokens += encoded.example.inputIds.length;
      count.targets += encoded.example.labels.filter((l) => l !== IGNORE_INDEX).length;
      count.lengths.push(encoded.example.inputIds.length);
      if (count.examples % 256 === 0) await yieldToEventLoop();
    }
    if (this.counts.size > 256) this.counts.clear();
    this.counts.set(key, count);
    return count;
  }

  /** The median training speed of recent steps on this server for the same base model and method. */
  private async measuredTokensPerSecond(baseModel: string, method: string): Promise<number | undefined> {
    const rows = await this.db
      .select({ tps: sql<number>`(${jobEvents.data}->>'tokens_per_second')::float8` })
      .from(jobEvents)
      .innerJoin(jobs, eq(jobs.id, jobEvents.jobId))
      .where(and(eq(jobs.baseModel, baseModel), sql`${jobs.training}->'method'->>'type' = ${method}`, eq(jobEvents.type, 'metrics'), sql`${jobEvents.data} ? 'tokens_per_second'`))
      .orderBy(desc(jobEvents.seq))
      .limit(50);
    const values = rows.map((r) => Number(r.tps)).filter((v) => Number.isFinite(v) && v > 0).sort((a, b) => a - b);
    return values.length > 0 ? values[Math.floor(values.length / 2)] : undefined;
  }
}
