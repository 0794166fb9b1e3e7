// Which models exist for an organization: the base models (folders under MODELS_DIR and the built-in
// glm-tiny, listed once at start and on refresh) and its fine-tuned models (rows). TF.js-free: it reads
// configs, weight headers and tokenizers only.
import { join } from 'node:path';
import type { Db } from '../db/client.ts';
import * as modelRows from '../db/repositories/models.ts';
import type { ModelRow } from '../db/schema/index.ts';
import { readModelConfig, type ModelConfig } from '../model/config.ts';
import { type BaseModelEntry, listBaseModels, type RegistryProblem } from '../model/registry.ts';

export type ResolvedModel =
  | { kind: 'base'; base: BaseModelEntry; config: ModelConfig }
  | { kind: 'fine-tuned'; model: ModelRow; base: BaseModelEntry; config: ModelConfig };

export class ModelCatalog {
  private bases = new Map<string, BaseModelEntry>();
  private configs = new Map<string, ModelConfig>();
  problems: RegistryProblem[] = [];

  constructor(
    private readonly db: Db,
    private readonly options: { modelsDir: string; dataDir: string },
  ) {}

  /** Where the built-in glm-tiny is written on first use. */
  get tinyDir(): string {
    return join(this.options.dataDir, 'models', 'glm-tiny');
  }

  /** Re-reads the models directory. Broken folders are kept in `problems`, never fatal. */
  async refresh(): Promise<RegistryProblem[]> {
    const { models, problems } = await listBaseModels({ modelsDir: this.options.modelsDir, tinyDir: this.tinyDir });
    this.bases = new Map(models.map((m) => [m.id, m]));
    this.configs = new Map(models.map((m) => [m.id, readModelConfig(m.path)]));
    this.problems = problems;
    return problems;
  }

  baseModels(): BaseModelEntry[] {
    return [...this.bases.values()];
  }

  base(id: string): { base: BaseModelEntry; config: ModelConfig } | undefined {
    const base = this.bases.get(id);
    return base ? { base, config: this.configs.get(id)! } : undefined;
  }

  /** A base model, or a fine-tuned model of this organization; undefined for anything else. */
  async resolve(organizationId: string, id: string): Promise<ResolvedModel | undefined> {
    const base = this.base(id);
    if (base) return { kind: 'base', ...base };
    if (!id.startsWith('ft:')) return undefined;
    const model = await modelRows.findModel(this.db, organizationId, id);
    const itsBase = model && this.base(model.baseModel);
    return model && itsBase ? { kind: 'fine-tuned', model, ...itsBase } : undefined;
  }
}
