// Opens what the process depends on: the database (migrated) and the bucket, embedded or configured.
import { join } from 'node:path';
import type { Config } from './config.ts';
import { type Database, openDatabase } from './db/client.ts';
import { migrate } from './db/migrate.ts';
import { type EmbeddedS3, startEmbeddedS3 } from './storage/embedded-s3.ts';
import { S3BlobStore } from './storage/s3.ts';
import type { Logger } from 'pino';

export const EMBEDDED_BUCKET = 'glmtune';

export interface Infrastructure {
  database: Database;
  blobs: S3BlobStore;
  close(): Promise<void>;
}

export async function openInfrastructure(config: Config, log: Logger): Promise<Infrastructure> {
  const database = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.databasePoolSize,
    onPoolError: (err) => log.warn({ err }, 'idle database connection lost; the pool will reconnect'),
  });
  let embedded: EmbeddedS3 | undefined;
  try {
    await migrate(database);
    let blobs: S3BlobStore;
    if (config.s3) {
      blobs = new S3BlobStore(config.s3);
    } else {
      embedded = await startEmbeddedS3(join(config.dataDir, 's3'));
      blobs = new S3BlobStore({ ...embedded, bucket: EMBEDDED_BUCKET, region: 'us-east-1', forcePathStyle: true });
    }
    await blobs.ensureBucket();
    log.info(
      { database: database.kind, storage: config.s3 ? (config.s3.endpoint ?? 'aws') : `embedded ${embedded?.endpoint}` },
      'infrastructure ready',
    );
    return {
      database,
      blobs,
      async close() {
        blobs.close();
        await embedded?.close();
        await database.close();
      },
    };
  } catch (err) {
    await embedded?.close().catch(() => undefined);
    await database.close().catch(() => undefined);
    throw err;
  }
}
