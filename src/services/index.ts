// The domain services one process holds, built once from its infrastructure and shared by all routes.
import type { Registry } from 'prom-client';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { AuthService } from './auth.ts';
import { ModelCatalog } from './catalog.ts';
import { ChatCompletionService } from './chat-completions.ts';
import { FileService } from './files.ts';
import { InferenceService } from './inference.ts';
import { JobEstimator } from './jobs/estimate.ts';
import { JobHistory } from './jobs/history.ts';
import { JobService } from './jobs/jobs.ts';
import { ModelService } from './models.ts';
import { TextCompletionService } from './text-completions.ts';
import { TokenizationService } from './tokenization.ts';
import { registerQueueMetrics } from './metrics.ts';

export interface Services {
  config: Config;
  database: Database;
  blobs: BlobStore;
  auth: AuthService;
  files: FileService;
  catalog: ModelCatalog;
  jobs: JobService;
  history: JobHistory;
  /** The inference pool and serving of models; close() it with the process. */
  inference: InferenceService;
  models: ModelService;
  chatCompletions: ChatCompletionService;
  completions: TextCompletionService;
  tokenization: TokenizationService;
  estimator: JobEstimator;
  /** True while a queued or running fine-tuning job uses the file. */
  fileInUse(fileId: string): Promise<boolean>;
  /** What the trainer threads report about their TF.js backend, once one has started. */
  compute(): Record<string, unknown> | undefined;
  metrics: Registry;
}

export async function createServices(config: Config, database: Database, blobs: BlobStore, metrics: Registry): Promise<Services> {
  const catalog = new ModelCatalog(database.db, { modelsDir: config.modelsDir, dataDir: config.dataDir });
  await catalog.refresh();
  const jobs = new JobService(database.db, catalog);
  const inference = new InferenceService(config, catalog, blobs, metrics);
  registerQueueMetrics(metrics, database.db);
  const services: Services = {
    config,
    database,
    blobs,
    auth: new AuthService(database.db, config.adminKey),
    files: new FileService(database.db, blobs, config.maxUploadBytes),
    catalog,
    jobs,
    history: new JobHistory(database.db, jobs),
    inference,
    models: new ModelService(database.db, catalog, blobs, inference),
    chatCompletions: new ChatCompletionService(inference),
    completions: new TextCompletionService(inference),
    tokenization: new TokenizationService(inference),
    fileInUse: (fileId) => jobs.fileInUse(fileId),
    compute: () => undefined,
    metrics,
    estimator: new JobEstimator(database.db, blobs, jobs, () => services.compute()?.backend as string | undefined),
  };
  return services;
}
