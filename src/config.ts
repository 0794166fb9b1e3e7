// All settings come from environment variables, parsed once at start-up. Nothing else reads process.env.
import { resolve } from 'node:path';
import { z } from 'zod';
import { autoBlasThreads } from './compute/options.ts';

const MiB = 1024 * 1024;

const port = z.coerce.number({ error: 'must be a port number from 0 to 65535' }).int().min(0).max(65535);
const positiveInt = z.coerce.number({ error: 'must be a positive integer' }).int().positive();
const booleanString = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const envSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(8080),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: optionalString.pipe(
    z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL').optional(),
  ),
  DATABASE_POOL_SIZE: positiveInt.default(10),
  S3_ENDPOINT: optionalString.pipe(z.url('must be a URL such as http://127.0.0.1:9000').optional()),
  S3_BUCKET: optionalString,
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_ACCESS_KEY_ID: optionalString,
  S3_SECRET_ACCESS_KEY: optionalString,
  S3_FORCE_PATH_STYLE: booleanString.default(true),
  GLMTUNE_API_KEY: optionalString.pipe(z.string().min(20, 'must be at least 20 characters').optional()),
  GLMTUNE_ADMIN_KEY: optionalString.pipe(z.string().min(20, 'must be at least 20 characters').optional()),
  MODELS_DIR: z.string().min(1).default('./models'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ROLE: z.enum(['all', 'api', 'worker']).default('all'),
  MAX_UPLOAD_BYTES: positiveInt.default(512 * MiB),
  MAX_BODY_BYTES: positiveInt.default(4 * MiB),
  RATE_LIMIT_PER_MINUTE: positiveInt.default(1200),
  TF_BACKEND: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  GLMTUNE_NATIVE: booleanString.default(true),
  GLMTUNE_BLAS_THREADS: z.union([z.literal('auto'), positiveInt], { error: 'must be auto or a positive integer' }).default('auto'),
  TRAINER_CONCURRENCY: positiveInt.default(1),
  JOB_LEASE_SECONDS: positiveInt.default(30),
  JOB_MAX_ATTEMPTS: positiveInt.default(3),
  MAX_RUNNING_JOBS_PER_ORG: positiveInt.default(2),
  QUEUE_POLL_MS: positiveInt.default(1000),
  CHECKPOINTS_KEPT: positiveInt.default(3),
  RECONCILE_INTERVAL_SECONDS: positiveInt.default(3600),
  ORPHAN_GRACE_SECONDS: positiveInt.default(3600),
  INFERENCE_CONCURRENCY: positiveInt.default(1),
  INFERENCE_MEMORY_MB: positiveInt.default(2048),
  INFERENCE_TIMEOUT_MS: positiveInt.default(300_000),
  INFERENCE_MAX_BATCH: positiveInt.default(16),
  INFERENCE_MAX_PENDING: positiveInt.default(256),
});

export type Role = 'all' | 'api' | 'worker';

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  role: Role;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  /** Undefined: embedded PGlite under dataDir. */
  databaseUrl?: string;
  databasePoolSize: number;
  /** Undefined: an embedded S3-compatible server under dataDir. */
  s3?: { endpoint?: string; bucket: string; region: string; accessKeyId?: string; secretAccessKey?: string; forcePathStyle: boolean };
  apiKey?: string;
  adminKey?: string;
  modelsDir: string;
  maxUploadBytes: number;
  maxBodyBytes: number;
  rateLimitPerMinute: number;
  tfBackend: z.infer<typeof envSchema>['TF_BACKEND'];
  /** The compute switches every TF.js thread starts with (src/compute/options.ts). */
  compute: { native: boolean; blasThreads: number };
  queue: {
    /** Trainer threads (jobs trained at once) in this process. */
    trainerConcurrency: number;
    /** A worker's hold on a running job lasts this long unless renewed (heartbeat at a third of it). */
    leaseSeconds: number;
    /** Claims of a job (first run + resumes after a lost worker) before it fails. */
    maxAttempts: number;
    maxRunningPerOrganization: number;
    pollMs: number;
    /** Checkpoints kept per job (older ones are deleted; the final model always stays). */
    checkpointsKept: number;
  };
  /** The sweep of bucket objects that no row points to (src/services/reconciler.ts). */
  reconciler: {
    intervalMs: number;
    /** Objects younger than this are never swept: their rows may be about to be committed. */
    graceMs: number;
  };
  inference: {
    /** Inference threads in this process; each model lives in one of them. */
    concurrency: number;
    /** Budget for resident model weights (bases, adapters, prefixes) over all inference threads. */
    memoryBytes: number;
    /** A generation still running after this long is stopped and answered with a timeout. */
    timeoutMs: number;
    /** Sequences one thread decodes together in a batch; more wait their turn. */
    maxBatch: number;
    /** Requests generating or waiting at once; more are refused with 503. */
    maxPending: number;
  };
}

/** Threads of a process in `role` that may multiply at once: its trainer slots and its inference threads. */
function busyComputeSlots(role: Role, trainerConcurrency: number, inferenceConcurrency: number): number {
  return (role === 'api' ? 0 : trainerConcurrency) + (role === 'worker' ? 0 : inferenceConcurrency);
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment; a wrong value throws a ConfigError naming each variable and what is wrong. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      const got = env[name] === undefined ? '' : ` (got ${JSON.stringify(env[name])})`;
      return `  ${name}: ${issue.message}${got}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const s3Configured = e.S3_ENDPOINT !== undefined || e.S3_BUCKET !== undefined || e.S3_ACCESS_KEY_ID !== undefined;
  if (s3Configured && e.S3_BUCKET === undefined) {
    throw new ConfigError('Invalid configuration:\n  S3_BUCKET: required when S3_ENDPOINT or S3 credentials are set');
  }
  if ((e.S3_ACCESS_KEY_ID === undefined) !== (e.S3_SECRET_ACCESS_KEY === undefined)) {
    throw new ConfigError('Invalid configuration:\n  S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY: set both or neither');
  }
  const dataDir = resolve(e.DATA_DIR);
  return {
    host: e.HOST,
    port: e.PORT,
    dataDir,
    role: e.ROLE,
    logLevel: e.LOG_LEVEL,
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    s3: s3Configured
      ? {
          endpoint: e.S3_ENDPOINT,
          bucket: e.S3_BUCKET!,
          region: e.S3_REGION,
          accessKeyId: e.S3_ACCESS_KEY_ID,
          secretAccessKey: e.S3_SECRET_ACCESS_KEY,
          forcePathStyle: e.S3_FORCE_PATH_STYLE,
        }
      : undefined,
    apiKey: e.GLMTUNE_API_KEY,
    adminKey: e.GLMTUNE_ADMIN_KEY,
    modelsDir: resolve(e.MODELS_DIR),
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
    maxBodyBytes: e.MAX_BODY_BYTES,
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    tfBackend: e.TF_BACKEND,
    compute: {
      native: e.GLMTUNE_NATIVE,
      blasThreads: e.GLMTUNE_BLAS_THREADS === 'auto' ? autoBlasThreads(busyComputeSlots(e.ROLE, e.TRAINER_CONCURRENCY, e.INFERENCE_CONCURRENCY)) : e.GLMTUNE_BLAS_THREADS,
    },
    queue: {
      trainerConcurrency: e.TRAINER_CONCURRENCY,
      leaseSeconds: e.JOB_LEASE_SECONDS,
      maxAttempts: e.JOB_MAX_ATTEMPTS,
      maxRunningPerOrganization: e.MAX_RUNNING_JOBS_PER_ORG,
      pollMs: e.QUEUE_POLL_MS,
      checkpointsKept: e.CHECKPOINTS_KEPT,
    },
    reconciler: { intervalMs: e.RECONCILE_INTERVAL_SECONDS * 1000, graceMs: e.ORPHAN_GRACE_SECONDS * 1000 },
    inference: {
      concurrency: e.INFERENCE_CONCURRENCY,
      memoryBytes: e.INFERENCE_MEMORY_MB * MiB,
      timeoutMs: e.INFERENCE_TIMEOUT_MS,
      maxBatch: e.INFERENCE_MAX_BATCH,
      maxPending: e.INFERENCE_MAX_PENDING,
    },
  };
}
