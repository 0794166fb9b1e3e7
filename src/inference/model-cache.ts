// What the inference threads hold, decided on the main thread: a memory budget over every resident
// model and adapter, least-recently-used eviction of what no request is using, and single-flight
// loading (however many requests ask for a cold model at once, it loads once). An adapter lives in
// the thread of the model it sits on; evicting a model evicts its adapters with it.

export interface CacheEntry {
  key: string;
  kind: 'model' | 'adapter';
  /** The model an adapter sits on. */
  base?: string;
  thread: number;
  /** Estimated until loaded, then what the thread reports. */
  bytes: number;
  /** Requests using it now; a pinned entry is never evicted. */
  pins: number;
  lastUse: number;
  loaded: boolean;
  ready: Promise<void>;
}

export interface LoadPlan {
  key: string;
  kind: 'model' | 'adapter';
  /** For an adapter: its model's key, which the caller has acquired first. */
  base?: string;
  estimatedBytes: number;
  /** Loads the entry into `thread`; resolves with the bytes it holds. */
  load(thread: number): Promise<number>;
}

export class InsufficientMemoryError extends Error {
  override name = 'InsufficientMemoryError';
}

export interface ModelCacheStats {
  budgetBytes: number;
  usedBytes: number;
  entries: { key: string; kind: 'model' | 'adapter'; base?: string; thread: number; bytes: number; pins: number; loaded: boolean }[];
  /** Loads started since the start, per kind (single-flight: one per cold entry). */
  loads: { model: number; adapter: number };
  evictions: number;
}

export class ModelCache {
  private readonly entries = new Map<string, CacheEntry>();
  private clock = 0;
  private readonly loads = { model: 0, adapter: 0 };
  private evictions = 0;

  constructor(
    private readonly budgetBytes: number,
    private readonly threadCount: number,
    /** Frees an evicted entry in its thread (a model's adapters are evicted before it). */
    private readonly unload: (entry: CacheEntry) => void,
  ) {}

  /** Pins the entry, loading it first when it is not resident. Release it with release(). */
  async acquire(plan: LoadPlan): Promise<CacheEntry> {
    let entry = this.entries.get(plan.key);
    if (!entry) entry = this.startLoad(plan);
    entry.pins++;
    try {
      await entry.ready;
    } catch (err) {
      entry.pins--;
      throw err;
    }
    entry.lastUse = ++this.clock;
    return entry;
  }

  release(entry: CacheEntry): void {
    entry.pins = Math.max(0, entry.pins - 1);
    entry.lastUse = ++this.clock;
  }

  /** Evicts an entry now (its model was deleted); pinned entries stay until released. */
  evict(key: string): void {
    const entry = this.entries.get(key);
    if (entry?.loaded && this.evictable(entry)) this.remove(entry, true);
  }

  /** Forgets everything a thread held (it died; nothing there to unload). */
  forgetThread(thread: number): void {
    for (const entry of [...this.entries.values()]) if (entry.thread === thread) this.entries.delete(entry.key);
  }

  stats(): ModelCacheStats {
    const entries = [...this.entries.values()].map(({ key, kind, base, thread, bytes, pins, loaded }) => ({ key, kind, base, thread, bytes, pins, loaded }));
    return { budgetBytes: this.budgetBytes, usedBytes: this.used(), entries, loads: { ...this.loads }, evictions: this.evictions };
  }

  private used(): number {
    let bytes = 0;
    for (const entry of this.entries.values()) bytes += entry.bytes;
    return bytes;
  }

  private startLoad(plan: LoadPlan): CacheEntry {
    if (plan.estimatedBytes > this.budgetBytes) {
      throw new InsufficientMemoryError(`${plan.key} needs about ${mib(plan.estimatedBytes)} MiB, more than the whole inference memory budget (${mib(this.budgetBytes)} MiB, INFERENCE_MEMORY_MB)`);
    }
    const base = plan.base === undefined ? undefined : this.entries.get(plan.base);
    if (plan.base !== undefined && !base?.loaded) throw new Error(`acquire ${plan.base} before its adapter ${plan.key}`);
    this.makeRoom(plan.estimatedBytes, new Set(plan.base === undefined ? [] : [plan.base]));
    const entry: CacheEntry = {
      key: plan.key,
      kind: plan.kind,
      base: plan.base,
      thread: base ? base.thread : this.emptiestThread(),
      bytes: plan.estimatedBytes,
      pins: 0,
      lastUse: ++this.clock,
      loaded: false,
      ready: Promise.resolve(),
    };
    this.loads[plan.kind]++;
    entry.ready = plan.load(entry.thread).then(
      (bytes) => {
        entry.bytes = bytes;
        entry.loaded = true;
      },
      (err: unknown) => {
        if (this.entries.get(plan.key) === entry) this.entries.delete(plan.key);
        throw err;
      },
    );
    this.entries.set(plan.key, entry);
    return entry;
  }

  /**
   * Evicts least recently used entries no request holds until `bytes` more fit; throws, evicting
   * nothing, when even evicting all of them would not make room.
   */
  private makeRoom(bytes: number, keep: ReadonlySet<string>): void {
    const candidates = [...this.entries.values()].filter((e) => e.loaded && !keep.has(e.key) && this.evictable(e)).sort((a, b) => a.lastUse - b.lastUse);
    const freed = new Set<CacheEntry>();
    const victims: CacheEntry[] = [];
    let used = this.used();
    for (const victim of candidates) {
      if (used + bytes <= this.budgetBytes) break;
      if (freed.has(victim)) continue; // gone with its model
      for (const entry of [victim, ...this.adaptersOf(victim)]) {
        if (!freed.has(entry)) used -= entry.bytes;
        freed.add(entry);
      }
      victims.push(victim);
    }
    if (used + bytes > this.budgetBytes) {
      throw new InsufficientMemoryError(
        `the inference memory budget (${mib(this.budgetBytes)} MiB, INFERENCE_MEMORY_MB) is held by models in use: ${mib(this.used())} MiB resident, ${mib(bytes)} MiB more needed`,
      );
    }
    for (const victim of victims) this.remove(victim, true);
  }

  private adaptersOf(entry: CacheEntry): CacheEntry[] {
    return entry.kind === 'model' ? [...this.entries.values()].filter((e) => e.base === entry.key) : [];
  }

  private evictable(entry: CacheEntry): boolean {
    if (entry.pins > 0) return false;
    return this.adaptersOf(entry).every((adapter) => adapter.pins === 0 && adapter.loaded);
  }

  private remove(entry: CacheEntry, unload: boolean): void {
    for (const adapter of this.adaptersOf(entry)) this.remove(adapter, false); // the thread frees them with their model
    this.entries.delete(entry.key);
    this.evictions++;
    if (unload) this.unload(entry);
  }

  private emptiestThread(): number {
    const bytes = new Array<number>(this.threadCount).fill(0);
    for (const entry of this.entries.values()) bytes[entry.thread] += entry.bytes;
    return bytes.indexOf(Math.min(...bytes));
  }
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}
