// The models an organization sees — every base model and its own fine-tunes (final models and
// checkpoints) — and what it can do with a fine-tune: delete it, list and download its files (one
// file, or the folder as a tar, streamed from the bucket), and merge a LoRA adapter into its base.
import { createHash } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Db } from '../db/client.ts';
import * as modelRows from '../db/repositories/models.ts';
import type { ModelRow } from '../db/schema/index.ts';
import { errors } from '../errors.ts';
import type { ModelConfig } from '../model/config.ts';
import type { BaseModelEntry } from '../model/registry.ts';
import type { BlobInfo, BlobStore } from '../storage/blob-store.ts';
import { deletePrefix, uploadFolder } from '../worker/staging.ts';
import type { ModelCatalog } from './catalog.ts';
import { artifactKind, type InferenceService, MERGED_SUFFIX } from './inference.ts';
import { inferenceErrors } from './inference-errors.ts';
import { type TarMember, tarSize, tarStream } from './tar.ts';

export type ModelView =
  | { kind: 'base'; base: BaseModelEntry; config: ModelConfig; created: Date }
  | { kind: 'fine-tuned'; model: ModelRow; base: BaseModelEntry; config: ModelConfig };

export interface ArtifactFile {
  name: string;
  bytes: number;
  sha256: string;
}

export interface Download {
  filename: string;
  bytes: number;
  body: Readable;
}

export class ModelService {
  /** sha256 of artifact objects by key, valid while size and modification time are unchanged. */
  private readonly hashes = new Map<string, { size: number; modified: number; sha256: string }>();
  private readonly merges = new Map<string, Promise<ModelView>>();

  constructor(
    private readonly db: Db,
    private readonly catalog: ModelCatalog,
    private readonly blobs: BlobStore,
    private readonly inference: InferenceService,
  ) {}

  private baseView(base: BaseModelEntry, config: ModelConfig): ModelView {
    return { kind: 'base', base, config, created: statSync(join(base.path, 'config.json')).mtime };
  }

  /** Base models first, then the organization's fine-tunes, newest first. */
  async list(organizationId: string): Promise<ModelView[]> {
    const bases = this.catalog.baseModels().map((base) => this.baseView(base, this.catalog.base(base.id)!.config));
    const rows = await modelRows.listModels(this.db, organizationId);
    const tuned = rows.flatMap((model): ModelView[] => {
      const base = this.catalog.base(model.baseModel);
      return base ? [{ kind: 'fine-tuned', model, ...base }] : [];
    });
    return [...bases, ...tuned];
  }

  async get(organizationId: string, id: string): Promise<ModelView> {
    const resolved = await this.catalog.resolve(organizationId, id);
    if (!resolved) throw inferenceErrors.modelNotFound(id);
    return resolved.kind === 'base' ? this.baseView(resolved.base, resolved.config) : resolved;
  }

  private async fineTuned(organizationId: string, id: string, action: string): Promise<ModelRow> {
    const view = await this.get(organizationId, id);
    if (view.kind === 'base') throw errors.invalid(`'${id}' is a base model: only fine-tuned models can be ${action}.`, 'model', 'base_model');
    return view.model;
  }

  /** Removes the row first, then its objects: a failure in between leaves only unreferenced objects. */
  async delete(organizationId: string, id: string): Promise<void> {
    const view = await this.get(organizationId, id);
    if (view.kind === 'base') throw errors.forbidden(`'${id}' is a base model and cannot be deleted.`);
    const row = await modelRows.deleteModel(this.db, organizationId, id);
    if (!row) throw inferenceErrors.modelNotFound(id);
    this.inference.forget(id);
    await deletePrefix(this.blobs, row.objectPrefix);
  }

  private async objects(model: ModelRow): Promise<BlobInfo[]> {
    const objects: BlobInfo[] = [];
    for await (const object of this.blobs.list(model.objectPrefix)) objects.push(object);
    return objects.sort((a, b) => a.key.localeCompare(b.key));
  }

  private async sha256(object: BlobInfo): Promise<string> {
    const known = this.hashes.get(object.key);
    if (known && known.size === object.size && known.modified === object.lastModified.getTime()) return known.sha256;
    const hash = createHash('sha256');
    for await (const chunk of await this.blobs.get(object.key)) hash.update(chunk as Buffer);
    const sha256 = hash.digest('hex');
    this.hashes.set(object.key, { size: object.size, modified: object.lastModified.getTime(), sha256 });
    return sha256;
  }

  async artifacts(organizationId: string, id: string): Promise<ArtifactFile[]> {
    const model = await this.fineTuned(organizationId, id, 'listed by file');
    const out: ArtifactFile[] = [];
    for (const object of await this.objects(model)) {
      out.push({ name: object.key.slice(model.objectPrefix.length), bytes: object.size, sha256: await this.sha256(object) });
    }
    return out;
  }

  /** One listed file; any other name (including ones that climb out of the folder) is a 404. */
  async artifact(organizationId: string, id: string, name: string): Promise<Download> {
    const model = await this.fineTuned(organizationId, id, 'downloaded');
    const object = (await this.objects(model)).find((o) => o.key === model.objectPrefix + name);
    if (!object) throw errors.notFound('artifact', name, 'name');
    return { filename: name.split('/').pop()!, bytes: object.size, body: await this.blobs.get(object.key) };
  }

  /** The whole folder as a tar, under a top folder named after the model. */
  async archive(organizationId: string, id: string): Promise<Download> {
    const model = await this.fineTuned(organizationId, id, 'downloaded');
    const folder = id.replace(/[^A-Za-z0-9._-]+/g, '-');
    const members: TarMember[] = (await this.objects(model)).map((object) => ({
      name: `${folder}/${object.key.slice(model.objectPrefix.length)}`,
      size: object.size,
      modified: object.lastModified,
      open: () => this.blobs.get(object.key),
    }));
    return { filename: `${folder}.tar`, bytes: tarSize(members), body: tarStream(members) };
  }

  /**
   * The LoRA adapter merged into its base's float weights, as a new model `{id}:merged` (an HF-layout
   * folder with the base's tokenizer). Done once: later calls return the merged model. QLoRA adapters
   * merge into the float base too (they were trained on its NF4 rounding).
   */
  async merge(organizationId: string, id: string): Promise<ModelView> {
    const source = await this.fineTuned(organizationId, id, 'merged');
    if (artifactKind(source) !== 'peft_lora') {
      throw errors.invalid(`Only LoRA and QLoRA adapters can be merged; '${id}' is a ${source.method} model with ${artifactKind(source)} files.`, 'model', 'not_an_adapter');
    }
    const mergedId = id + MERGED_SUFFIX;
    let merge = this.merges.get(mergedId);
    if (!merge) {
      merge = this.runMerge(organizationId, source, mergedId).finally(() => this.merges.delete(mergedId));
      this.merges.set(mergedId, merge);
    }
    return merge;
  }

  private async runMerge(organizationId: string, source: ModelRow, mergedId: string): Promise<ModelView> {
    const existing = await this.catalog.resolve(organizationId, mergedId);
    if (existing?.kind === 'fine-tuned') return existing;
    const base = await this.inference.model(organizationId, source.baseModel);
    const adapterDir = await this.inference.artifacts.folder(source);
    const outDir = this.inference.artifacts.scratch(mergedId);
    const lease = await this.inference.lease(base);
    const prefix = `models/${mergedId}/`;
    try {
      await this.inference.pool.merge(lease, adapterDir, base.baseDir, outDir);
      lease.release();
      const { bytes } = await uploadFolder(this.blobs, outDir, prefix);
      await modelRows.insertModel(this.db, {
        id: mergedId,
        organizationId,
        jobId: source.jobId,
        baseModel: source.baseModel,
        method: source.method,
        checkpointStep: source.checkpointStep,
        objectPrefix: prefix,
        trainedParameters: source.trainedParameters,
        artifactBytes: bytes,
      });
    } catch (err) {
      await deletePrefix(this.blobs, prefix).catch(() => undefined); // never leave objects without a row
      throw err;
    } finally {
      lease.release();
      rmSync(outDir, { recursive: true, force: true });
    }
    return this.get(organizationId, mergedId);
  }
}
