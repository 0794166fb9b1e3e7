// Serving models: which model a request names (base or the organization's fine-tune, with the base's
// tokenizer and chat template, all TF-free here), what the inference pool must hold to run it (base
// weights shared by every adapter of that base; full fine-tunes as their own base), and starting
// generations on it within the pending-request bound.
import { join } from 'node:path';
import { Gauge, type Registry } from 'prom-client';
import type { Config } from '../config.ts';
import type { ModelRow } from '../db/schema/index.ts';
import { InsufficientMemoryError } from '../inference/model-cache.ts';
import { InferencePool, type Lease, type PoolStats, type Servable, type ServingTarget } from '../inference/pool.ts';
import { templateFor } from '../model/chat-templates/select.ts';
import type { ChatTemplate } from '../model/chat-templates/types.ts';
import { parameterCount } from '../model/config.ts';
import { loadTokenizer } from '../model/tokenizers/load.ts';
import type { Tokenizer } from '../model/tokenizers/types.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { ArtifactFolders } from './artifact-folders.ts';
import type { ModelCatalog, ResolvedModel } from './catalog.ts';
import { Generation, type GenerationParams } from './generation.ts';
import { inferenceErrors } from './inference-errors.ts';

/** What a fine-tuned model's files are, whatever method made them. */
export type ArtifactKind = 'peft_lora' | 'ptuning_v2_prefix' | 'hf_model';

/** Merged LoRA exports get this suffix on their source model's id. */
export const MERGED_SUFFIX = ':merged';

export function artifactKind(model: ModelRow): ArtifactKind {
  if (model.id.endsWith(MERGED_SUFFIX)) return 'hf_model';
  if (model.method === 'lora' || model.method === 'qlora') return 'peft_lora';
  return model.method === 'ptuning_v2' ? 'ptuning_v2_prefix' : 'hf_model';
}

export interface ServedModel {
  id: string;
  resolved: ResolvedModel;
  /** The base model's folder: tokenizer and chat template (a fine-tune keeps its base's). */
  baseDir: string;
  tokenizer: Tokenizer;
  contextLength: number;
  /** Ids a prompt may hold and generation may choose: the tokenizer's, within the embedding. */
  vocabSize: number;
  template(): Promise<ChatTemplate>;
}

export class InferenceService {
  readonly pool: InferencePool;
  readonly artifacts: ArtifactFolders;
  private readonly templates = new Map<string, Promise<ChatTemplate>>();
  private pending = 0;

  constructor(
    private readonly config: Config,
    private readonly catalog: ModelCatalog,
    blobs: BlobStore,
    metrics: Registry,
  ) {
    const { inference } = config;
    this.pool = new InferencePool({
      threads: inference.concurrency,
      memoryBytes: inference.memoryBytes,
      maxBatch: inference.maxBatch,
      compute: { backend: config.tfBackend, native: config.compute.native, blasThreads: config.compute.blasThreads },
    });
    this.artifacts = new ArtifactFolders(blobs, join(config.dataDir, 'work', 'inference'));
    this.registerMetrics(metrics);
  }

  /** The model `id` as this organization may use it; 404 model_not_found otherwise. */
  async model(organizationId: string, id: string, param = 'model'): Promise<ServedModel> {
    const resolved = await this.catalog.resolve(organizationId, id);
    if (!resolved) throw inferenceErrors.modelNotFound(id, param);
    const baseDir = resolved.base.path;
    const tokenizer = await loadTokenizer(baseDir);
    return {
      id,
      resolved,
      baseDir,
      tokenizer,
      contextLength: resolved.config.seqLength,
      vocabSize: Math.min(tokenizer.vocabSize, resolved.config.paddedVocabSize),
      template: () => this.template(baseDir, tokenizer),
    };
  }

  private template(dir: string, tokenizer: Tokenizer): Promise<ChatTemplate> {
    let template = this.templates.get(dir);
    if (!template) {
      template = templateFor(dir, tokenizer);
      template.catch(() => this.templates.delete(dir));
      this.templates.set(dir, template);
    }
    return template;
  }

  /** What the pool must hold to serve the model. */
  private target(served: ServedModel): ServingTarget {
    const { resolved } = served;
    const modelBytes = parameterCount(resolved.config) * 4; // float32 weights
    const base: Servable = { key: `base:${resolved.base.id}`, estimatedBytes: modelBytes, stage: async () => resolved.base.path };
    if (resolved.kind === 'base') return { model: base };
    const row = resolved.model;
    const stage = () => this.artifacts.folder(row);
    switch (artifactKind(row)) {
      case 'peft_lora':
        return { model: base, adapter: { key: `adapter:${row.id}`, kind: 'lora', estimatedBytes: row.artifactBytes, stage } };
      case 'ptuning_v2_prefix':
        return { model: base, adapter: { key: `adapter:${row.id}`, kind: 'prefix', estimatedBytes: row.artifactBytes, stage } };
      case 'hf_model':
        return { model: { key: `model:${row.id}`, estimatedBytes: modelBytes, stage } };
    }
  }

  /** Leases what the model needs in the pool (loading it once if cold); 503 when memory does not allow. */
  async lease(served: ServedModel): Promise<Lease> {
    try {
      return await this.pool.acquire(this.target(served));
    } catch (err) {
      if (err instanceof InsufficientMemoryError) throw inferenceErrors.insufficientMemory(err.message);
      throw err;
    }
  }

  /** Starts generating; resolves once the model is loaded, so load failures are the caller's error response. */
  async generate(served: ServedModel, params: GenerationParams, signal?: AbortSignal): Promise<Generation> {
    if (this.pending >= this.config.inference.maxPending) throw inferenceErrors.busy(this.config.inference.maxPending);
    this.pending++;
    let lease: Lease | undefined;
    try {
      lease = await this.lease(served);
      return new Generation(this.pool, lease, params, served.tokenizer, this.config.inference.timeoutMs, signal, () => this.pending--);
    } catch (err) {
      lease?.release();
      this.pending--;
      throw err;
    }
  }

  /** A fine-tuned model was deleted: free it in the pool (once unused) and drop its local copy. */
  forget(modelId: string): void {
    this.pool.evict(`adapter:${modelId}`);
    this.pool.evict(`model:${modelId}`);
    this.artifacts.discard(modelId);
  }

  stats(): PoolStats & { pending: number } {
    return { ...this.pool.stats(), pending: this.pending };
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private registerMetrics(registry: Registry): void {
    const stats = () => this.pool.stats();
    new Gauge({
      name: 'glmtune_inference_resident_bytes',
      help: 'Bytes of loaded models (kind=model: bases and full fine-tunes) and adapters (LoRA, prefixes) in the inference threads.',
      labelNames: ['kind'] as const,
      registers: [registry],
      collect() {
        const entries = stats().entries.filter((e) => e.loaded);
        for (const kind of ['model', 'adapter'] as const) this.set({ kind }, entries.filter((e) => e.kind === kind).reduce((sum, e) => sum + e.bytes, 0));
      },
    });
    new Gauge({
      name: 'glmtune_inference_resident_models',
      help: 'Loaded models (kind=model) and adapters (kind=adapter) in the inference threads.',
      labelNames: ['kind'] as const,
      registers: [registry],
      collect() {
        const entries = stats().entries.filter((e) => e.loaded);
        for (const kind of ['model', 'adapter'] as const) this.set({ kind }, entries.filter((e) => e.kind === kind).length);
      },
    });
    new Gauge({
      name: 'glmtune_inference_tensor_bytes',
      help: 'Bytes of all tensors held by the inference threads, as they last reported.',
      registers: [registry],
      collect() {
        this.set(stats().threads.reduce((sum, t) => sum + t.tensorBytes, 0));
      },
    });
    const service = this;
    new Gauge({
      name: 'glmtune_inference_pending_requests',
      help: 'Generations running or waiting for a batch slot.',
      registers: [registry],
      collect() {
        this.set(service.pending);
      },
    });
  }
}
