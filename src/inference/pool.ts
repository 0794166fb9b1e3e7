// The inference pool: INFERENCE_CONCURRENCY threads, started on first use, and the model cache that
// decides what each holds. A request leases its model (and adapter) — loading them once if cold —
// generates in the thread that holds them, and releases the lease when it ends.
import { randomUUID } from 'node:crypto';
import { InferenceThread } from './inference-thread.ts';
import { type CacheEntry, ModelCache, type ModelCacheStats } from './model-cache.ts';
import type { ComputeRequest, GenerateRequest, LoadSource, ThreadEvent } from './protocol.ts';

export interface PoolOptions {
  threads: number;
  memoryBytes: number;
  maxBatch: number;
  compute: ComputeRequest;
}

/** A model or adapter to serve: its cache key, a size estimate for the budget, and how to get its folder. */
export interface Servable {
  key: string;
  estimatedBytes: number;
  /** Makes the folder local (download, unpack) — called only when the entry must be loaded. */
  stage(): Promise<string>;
}

export interface ServingTarget {
  model: Servable;
  adapter?: Servable & { kind: 'lora' | 'prefix' };
}

export interface Lease {
  thread: InferenceThread;
  model: string;
  adapter?: string;
  release(): void;
}

export class InferencePool {
  private readonly threads: (InferenceThread | undefined)[];
  private readonly cache: ModelCache;
  private closed = false;

  constructor(private readonly options: PoolOptions) {
    this.threads = new Array(options.threads).fill(undefined);
    this.cache = new ModelCache(options.memoryBytes, options.threads, (entry) => this.threads[entry.thread]?.unload(entry.key));
  }

  /** The thread in slot `index`, started (or restarted after a crash) when needed. */
  private async thread(index: number): Promise<InferenceThread> {
    if (this.closed) throw new Error('the inference pool is closed');
    let thread = this.threads[index];
    if (!thread?.alive) {
      thread = new InferenceThread(this.options.compute, this.options.maxBatch, () => {
        if (this.threads[index] === thread) {
          this.threads[index] = undefined;
          this.cache.forgetThread(index);
        }
      });
      this.threads[index] = thread;
    }
    await thread.ready;
    return thread;
  }

  /** Leases the target's model and adapter, loading each once if it is not resident. */
  async acquire(target: ServingTarget): Promise<Lease> {
    const model = await this.cache.acquire({
      key: target.model.key,
      kind: 'model',
      estimatedBytes: target.model.estimatedBytes,
      load: async (index) => this.loadInto(index, target.model.key, { kind: 'model', dir: await target.model.stage() }),
    });
    let adapter: CacheEntry | undefined;
    try {
      const spec = target.adapter;
      if (spec) {
        adapter = await this.cache.acquire({
          key: spec.key,
          kind: 'adapter',
          base: model.key,
          estimatedBytes: spec.estimatedBytes,
          load: async (index) => this.loadInto(index, spec.key, { kind: spec.kind, dir: await spec.stage(), base: model.key }),
        });
      }
      const thread = await this.thread(model.thread);
      let released = false;
      return {
        thread,
        model: model.key,
        adapter: adapter?.key,
        release: () => {
          if (released) return;
          released = true;
          if (adapter) this.cache.release(adapter);
          this.cache.release(model);
        },
      };
    } catch (err) {
      if (adapter) this.cache.release(adapter);
      this.cache.release(model);
      throw err;
    }
  }

  private async loadInto(index: number, key: string, source: LoadSource): Promise<number> {
    return (await this.thread(index)).load(key, source);
  }

  /** Starts a generation on the lease's thread; returns its request id (for cancel()). */
  generate(lease: Lease, request: Omit<GenerateRequest, 'type' | 'id' | 'model' | 'adapter'>, listener: (event: ThreadEvent) => void): string {
    const id = randomUUID();
    lease.thread.generate({ ...request, id, model: lease.model, adapter: lease.adapter }, listener);
    return id;
  }

  /** Writes the lease's model with a LoRA folder merged in, as an HF-layout folder at outDir. */
  merge(lease: Lease, adapterDir: string, baseDir: string, outDir: string): Promise<void> {
    return lease.thread.merge(randomUUID(), lease.model, adapterDir, baseDir, outDir);
  }

  /** Frees a model or adapter once no request uses it (e.g. it was deleted). */
  evict(key: string): void {
    this.cache.evict(key);
  }

  stats(): ModelCacheStats {
    return this.cache.stats();
  }

  /** Bytes of all tensors the running threads hold now: the resident models plus what generations use. */
  async tensorBytes(): Promise<number> {
    const bytes = await Promise.all(this.threads.map((t) => (t?.alive ? t.tensorBytes().catch(() => 0) : 0)));
    return bytes.reduce((a, b) => a + b, 0);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.map((t) => t?.terminate()));
  }
}
