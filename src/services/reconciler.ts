// Sweeps orphan objects: objects in the bucket that no row points to. Every writer stores the object
// first and then commits the row that points to it (and deletes rows before their objects), so a
// crash, a lost database or a failed delete can leave an object behind but never a row without its
// object. An object is swept only once it is older than the grace period, so that an upload whose row
// is about to be committed is never touched.
import type { Logger } from 'pino';
import type { Db } from '../db/client.ts';
import { unreferencedKeys } from '../db/repositories/objects.ts';
import type { BlobStore } from '../storage/blob-store.ts';

/** The prefixes glmtune writes under (ARCHITECTURE.md); anything else in the bucket is left alone. */
const OWNED_PREFIXES = ['files/', 'jobs/', 'models/'];
/** Keys asked about in one query. */
const BATCH = 500;

export interface ReconcilerOptions {
  graceMs: number;
  intervalMs: number;
  log: Logger;
}

export class OrphanReconciler {
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<unknown>;

  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    private readonly options: ReconcilerOptions,
  ) {}

  /** Sweeps every intervalMs (the first sweep one interval after start). */
  start(): void {
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep()
        .catch((err) => this.options.log.warn({ err }, 'orphan sweep failed; will retry'))
        .finally(() => (this.sweeping = undefined));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** One pass over the bucket; returns the keys it removed. */
  async sweep(): Promise<string[]> {
    const cutoff = Date.now() - this.options.graceMs;
    const removed: string[] = [];
    for (const prefix of OWNED_PREFIXES) {
      let batch: string[] = [];
      const flush = async () => {
        for (const key of await unreferencedKeys(this.db, batch)) {
          await this.blobs.delete(key);
          removed.push(key);
        }
        batch = [];
      };
      for await (const object of this.blobs.list(prefix)) {
        if (object.lastModified.getTime() > cutoff) continue;
        batch.push(object.key);
        if (batch.length >= BATCH) await flush();
      }
      await flush();
    }
    if (removed.length > 0) this.options.log.info({ count: removed.length, keys: removed.slice(0, 20) }, 'removed orphan objects');
    return removed;
  }
}
