// The process: read config, open the database and bucket, serve HTTP, close gracefully on SIGTERM.
import { pino } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { buildApp } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { openInfrastructure } from './infrastructure.ts';
import { loggerOptions } from './logger.ts';
import { createServices } from './services/index.ts';

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

async function main(): Promise<void> {
  const config = readConfig();
  const log = pino(loggerOptions(config.logLevel));
  const infrastructure = await openInfrastructure(config, log);
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const services = createServices(config, infrastructure.database, infrastructure.blobs, metrics);
  const firstKey = await services.auth.bootstrap(config.apiKey, config.databaseUrl === undefined);
  if (firstKey) announceFirstKey(firstKey);

  const app = await buildApp(services, log);
  await app.listen({ host: config.host, port: config.port });

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down: finishing in-flight requests');
    try {
      await app.close();
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
