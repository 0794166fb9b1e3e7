// Starts the real service for a test: real Postgres (or PGlite), a real S3-compatible server over
// HTTP, the real app listening on a loopback port. Nothing is mocked.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { openInfrastructure, type Infrastructure } from '../../src/infrastructure.ts';
import { createServices, type Services } from '../../src/services/index.ts';
import { type EmbeddedS3, startEmbeddedS3 } from '../../src/storage/embedded-s3.ts';
import { QueueWorker } from '../../src/worker/queue-worker.ts';
import { createTestDatabase, type TestDatabase } from './postgres.ts';

export const TEST_API_KEY = 'sk-glm-test-key-of-the-default-organization';

export interface TestServiceOptions {
  /** 'postgres' (default): a fresh database on the real server plus an S3 server; 'embedded': PGlite + embedded S3 in dataDir. */
  mode?: 'postgres' | 'embedded';
  /** Reuse a data directory (embedded mode) or database + S3 (postgres mode) to test restarts. */
  reuse?: TestService;
  env?: Record<string, string>;
  /** Also run the worker role (queue loop + trainer threads) in this process. */
  worker?: boolean;
  /** Postgres mode: an S3 server of the test's own (to stop and restart it), instead of a new one. */
  s3?: EmbeddedS3;
  /** Postgres mode: where the service sends its S3 requests, when not straight to the S3 server (a fault-injecting proxy). */
  s3Endpoint?: string;
}

export interface TestService {
  app: FastifyInstance;
  services: Services;
  url: string;
  apiKey: string;
  dataDir: string;
  database?: TestDatabase;
  s3?: EmbeddedS3;
  /** Closes the app and its infrastructure, keeping data for a restart. */
  stop(): Promise<void>;
  /** stop() and remove everything the service stored. */
  destroy(): Promise<void>;
  /** Makes another organization and returns one of its keys. */
  newOrganization(name: string): Promise<string>;
  worker?: QueueWorker;
}

export async function startTestService(options: TestServiceOptions = {}): Promise<TestService> {
  const mode = options.mode ?? 'postgres';
  const dataDir = options.reuse?.dataDir ?? mkdtempSync(join(tmpdir(), 'glmtune-test-'));
  const database = mode === 'postgres' ? (options.reuse?.database ?? (await createTestDatabase())) : undefined;
  const s3 = mode === 'postgres' ? (options.reuse?.s3 ?? options.s3 ?? (await startEmbeddedS3(join(dataDir, 'external-s3')))) : undefined;
  const env: Record<string, string> = { DATA_DIR: dataDir, LOG_LEVEL: 'silent', PORT: '0', QUEUE_POLL_MS: '100', JOB_LEASE_SECONDS: '5', ...options.env };
  if (database) env.DATABASE_URL = database.url;
  if (s3) Object.assign(env, { S3_ENDPOINT: options.s3Endpoint ?? s3.endpoint, S3_BUCKET: 'glmtune-test', S3_ACCESS_KEY_ID: s3.accessKeyId, S3_SECRET_ACCESS_KEY: s3.secretAccessKey });
  const config = loadConfig(env);
  const log = pino({ level: 'silent' });
  const infrastructure: Infrastructure = await openInfrastructure(config, log);
  const services = await createServices(config, infrastructure.database, infrastructure.blobs, new Registry());
  await services.auth.bootstrap(TEST_API_KEY, false);
  const app = await buildApp(services, log);
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const worker = options.worker
    ? new QueueWorker({ db: services.database.db, blobs: services.blobs, catalog: services.catalog, files: services.files, controls: services.jobs.controls, artifacts: services.inference.artifacts, config, log })
    : undefined;
  worker?.start();

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all([app.close().then(() => services.inference.close()), worker?.stop()]); // generations in flight finish first
    await infrastructure.close();
  };
  return {
    app,
    services,
    url: address,
    apiKey: TEST_API_KEY,
    dataDir,
    database,
    s3,
    worker,
    stop,
    async destroy() {
      await stop();
      await s3?.close();
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
    async newOrganization(name: string) {
      const org = await services.auth.createOrganization(name);
      return (await services.auth.createKey(org.id, 'test')).key;
    },
  };
}
