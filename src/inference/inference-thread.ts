// The main thread's handle on one inference thread: starts it (TF.js initialised there, never here),
// loads and unloads models in it, and routes its replies to the request they belong to.
import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { type ComputeRequest, type FromThread, fromThreadSchema, type GenerateRequest, type LoadSource, type ThreadEvent, type ToThread, toThreadSchema } from './protocol.ts';

// Worker threads do not inherit the tsx loader the service runs under: register it, then load thread.ts.
const BOOTSTRAP = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(new URL('./thread.ts', import.meta.url).href)}); });`;

interface Pending {
  resolve(value: number): void;
  reject(error: Error): void;
}

export class InferenceThread {
  private readonly worker: Worker;
  private readonly loads = new Map<string, Pending>();
  private readonly merges = new Map<string, Pending>();
  private readonly memoryQueries = new Map<string, Pending>();
  private readonly listeners = new Map<string, (event: ThreadEvent) => void>();
  /** Resolves with the compute path once TF.js is up in the thread. */
  readonly ready: Promise<Record<string, unknown>>;
  private dead?: Error;

  constructor(compute: ComputeRequest, maxBatch: number, private readonly onExit: (error: Error) => void) {
    this.worker = new Worker(BOOTSTRAP, { eval: true });
    let started: (info: Record<string, unknown>) => void;
    let failedToStart: (error: Error) => void;
    this.ready = new Promise((resolve, reject) => {
      started = resolve;
      failedToStart = reject;
    });
    this.ready.catch(() => undefined); // observed by whoever awaits it
    this.worker.on('message', (raw: unknown) => {
      const parsed = fromThreadSchema.safeParse(raw);
      if (!parsed.success) return this.die(new Error(`malformed message from an inference thread: ${parsed.error.message}`));
      const message = parsed.data;
      if (message.type === 'ready') started(message.compute);
      else if (message.type === 'failed' && message.id === 'init') failedToStart(new Error(message.message));
      else this.receive(message);
    });
    this.worker.on('error', (err) => this.die(err));
    this.worker.on('exit', (code) => {
      const error = new Error(`the inference thread exited (code ${code})`);
      failedToStart(error);
      this.die(error);
    });
    this.send({ type: 'init', compute, maxBatch });
  }

  private send(message: ToThread): void {
    if (this.dead) throw this.dead;
    this.worker.postMessage(toThreadSchema.parse(message));
  }

  private receive(message: Exclude<FromThread, { type: 'ready' }>): void {
    switch (message.type) {
      case 'loaded':
        this.settle(this.loads, message.key, message.bytes);
        break;
      case 'memory':
        this.settle(this.memoryQueries, message.id, message.tensorBytes);
        break;
      case 'load-failed':
        this.settle(this.loads, message.key, new Error(message.message));
        break;
      case 'merged':
        this.settle(this.merges, message.id, 0);
        break;
      default:
        if (message.type === 'failed' && this.merges.has(message.id)) this.settle(this.merges, message.id, new Error(message.message));
        else this.listeners.get(message.id)?.(message);
    }
  }

  private settle(map: Map<string, Pending>, key: string, outcome: number | Error): void {
    const pending = map.get(key);
    map.delete(key);
    if (outcome instanceof Error) pending?.reject(outcome);
    else pending?.resolve(outcome);
  }

  /** Everything waiting on this thread fails; the pool forgets what it held. */
  private die(error: Error): void {
    if (this.dead) return;
    this.dead = error;
    for (const map of [this.loads, this.merges, this.memoryQueries]) {
      for (const pending of map.values()) pending.reject(error);
      map.clear();
    }
    for (const [id, listener] of this.listeners) listener({ type: 'failed', id, message: error.message });
    this.listeners.clear();
    void this.worker.terminate();
    this.onExit(error);
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** Loads a model or adapter under `key`; resolves with the bytes it holds. */
  load(key: string, source: LoadSource): Promise<number> {
    return new Promise((resolve, reject) => {
      this.loads.set(key, { resolve, reject });
      try {
        this.send({ type: 'load', key, source });
      } catch (err) {
        this.settle(this.loads, key, err as Error);
      }
    });
  }

  unload(key: string): void {
    if (!this.dead) this.send({ type: 'unload', key });
  }

  /** Starts a generation; `listener` gets its events until finished or failed. */
  generate(request: Omit<GenerateRequest, 'type'>, listener: (event: ThreadEvent) => void): void {
    this.listeners.set(request.id, listener);
    this.send({ type: 'generate', ...request });
  }

  /** Stops listening to a request (its last event arrived, or its caller left). */
  forget(id: string): void {
    this.listeners.delete(id);
  }

  cancel(id: string, index?: number): void {
    if (!this.dead) this.send({ type: 'cancel', id, index });
  }

  /** Bytes of every tensor the thread holds, when it reads this request (between decoding steps). */
  tensorBytes(): Promise<number> {
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      this.memoryQueries.set(id, { resolve, reject });
      try {
        this.send({ type: 'memory', id });
      } catch (err) {
        this.settle(this.memoryQueries, id, err as Error);
      }
    });
  }

  merge(id: string, model: string, adapterDir: string, baseDir: string, outDir: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.merges.set(id, { resolve: () => resolve(), reject });
      try {
        this.send({ type: 'merge', id, model, adapterDir, baseDir, outDir });
      } catch (err) {
        this.settle(this.merges, id, err as Error);
      }
    });
  }

  async terminate(): Promise<void> {
    this.dead ??= new Error('the inference pool is closed');
    await this.worker.terminate();
  }
}
