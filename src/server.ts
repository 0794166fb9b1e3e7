// The process: read config, open the database and bucket, serve HTTP, close gracefully on SIGTERM.
import { pino, type Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { buildApp } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { openInfrastructure } from './infrastructure.ts';
import { loggerOptions } from './logger.ts';
import { createServices, type Services } from './services/index.ts';
import { OrphanReconciler } from './services/reconciler.ts';
import { QueueWorker } from './worker/queue-worker.ts';
import { probeCompute } from './worker/trainer-thread.ts';

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`glmtune: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/** Shown once, on the console rather than in the logs, which must never hold a key. */
function announceFirstKey(key: string): void {
  process.stdout.write(
    [
      '',
      '  glmtune made an API key for the default organization. It is shown this once only:',
      '',
      `    ${key}`,
      '',
      '  Use it as: Authorization: Bearer <key>',
      '',
    ].join('\n') + '\n',
  );
}

/** The worker role: the queue loop, and the compute path its trainer threads get (for /readyz). */
function startWorker(services: Services, log: Logger): QueueWorker {
  const { config } = services;
  const worker = new QueueWorker({ db: services.database.db, blobs: services.blobs, catalog: services.catalog, files: services.files, controls: services.jobs.controls, artifacts: services.inference.artifacts, config, log });
  let compute: Record<string, unknown> | undefined;
  services.compute = () => compute;
  probeCompute({ backend: config.tfBackend, ...config.compute }).then(
    (info) => {
      compute = info;
      log.info({ backend: info.backend, matmul: info.matmul }, String(info.message));
    },
    (err) => log.error({ err }, 'the trainer threads cannot start TF.js'),
  );
  worker.start();
  log.info({ worker: worker.workerId, slots: config.queue.trainerConcurrency }, 'worker started');
  return worker;
}

async function main(): Promise<void> {
  const config = readConfig();
  const log = pino(loggerOptions(config.logLevel));
  const infrastructure = await openInfrastructure(config, log);
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const services = await createServices(config, infrastructure.database, infrastructure.blobs, metrics);
  for (const problem of services.catalog.problems) log.warn({ model: problem.id, path: problem.path }, `model folder skipped: ${problem.reason}`);
  const firstKey = await services.auth.bootstrap(config.apiKey, config.databaseUrl === undefined);
  if (firstKey) announceFirstKey(firstKey);

  const worker = config.role === 'api' ? undefined : startWorker(services, log);
  // Every role may leave orphans (an upload cut off, a checkpoint half stored); sweeps from several
  // processes at once are harmless.
  const reconciler = new OrphanReconciler(services.database.db, services.blobs, { ...config.reconciler, log });
  reconciler.start();
  const app = await buildApp(services, log, { api: config.role !== 'worker' });
  await app.listen({ host: config.host, port: config.port });

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down: finishing in-flight requests, checkpointing running jobs');
    try {
      await Promise.all([app.close().then(() => services.inference.close()), worker?.stop(), reconciler.stop()]); // generations in flight finish first
      await infrastructure.close();
      process.exit(0);
    } catch (err) {
      log.error({ err }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`glmtune: failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
