// Local copies of fine-tuned models' artifacts for the inference threads, which read local files only:
// downloaded from the bucket once (concurrent callers share the download), marked complete only when
// every object arrived, and removed when the model is deleted.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelRow } from '../db/schema/index.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { downloadPrefix } from '../worker/staging.ts';

const COMPLETE = '.complete';

export class ArtifactFolders {
  private readonly downloads = new Map<string, Promise<string>>();

  constructor(
    private readonly blobs: BlobStore,
    private readonly root: string,
  ) {}

  private path(modelId: string): string {
    return join(this.root, createHash('sha256').update(modelId).digest('hex').slice(0, 32));
  }

  /** The model's artifact folder, downloaded first when it is not here. */
  folder(model: ModelRow): Promise<string> {
    const dir = this.path(model.id);
    if (existsSync(join(dir, COMPLETE))) return Promise.resolve(dir);
    let download = this.downloads.get(model.id);
    if (!download) {
      download = (async () => {
        rmSync(dir, { recursive: true, force: true }); // a download cut off earlier starts over
        const count = await downloadPrefix(this.blobs, model.objectPrefix, dir);
        if (count === 0) throw new Error(`no objects under ${model.objectPrefix}`);
        writeFileSync(join(dir, COMPLETE), '');
        return dir;
      })().finally(() => this.downloads.delete(model.id));
      this.downloads.set(model.id, download);
    }
    return download;
  }

  discard(modelId: string): void {
    rmSync(this.path(modelId), { recursive: true, force: true });
  }

  /** A fresh empty folder for work on a model (e.g. a merge), removed by the caller. */
  scratch(name: string): string {
    const dir = join(this.root, 'scratch', `${createHash('sha256').update(name).digest('hex').slice(0, 16)}-${Date.now()}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  }
}
