// bench/api.ts — requests/s and latency percentiles of GET /healthz and GET /v1/files/{id}.
// The service runs as its own process (as `npm start` runs it) on embedded defaults in a temp data dir,
// or against Postgres with --postgres [url]; autocannon drives it from this process.
// Usage: npx tsx bench/api.ts [--seconds 10] [--connections 50] [--postgres <url> | --postgres '']
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { startServiceProcess } from '../test/helpers/process.ts';
import { uploadForm } from '../test/helpers/http.ts';
import { createTestDatabase } from '../test/helpers/postgres.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    postgres: { type: 'string' },
  },
});
const API_KEY = 'sk-glm-bench-key-0000000000000000000000';
const dataDir = mkdtempSync(join(tmpdir(), 'glmtune-bench-'));
const env: Record<string, string> = { DATA_DIR: dataDir, GLMTUNE_API_KEY: API_KEY, LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '100000000' };
// --postgres alone: a fresh database on the local server, dropped afterwards.
const scratchDb = values.postgres === '' ? await createTestDatabase() : undefined;
if (values.postgres !== undefined) env.DATABASE_URL = values.postgres || scratchDb!.url;
const service = await startServiceProcess(env);

async function measure(title: string, path: string, headers: Record<string, string> = {}) {
  const result = await autocannon({
    url: `${service.url}${path}`,
    connections: Number(values.connections),
    duration: Number(values.seconds),
    headers,
  });
  const errors = result.errors + result.timeouts + result.non2xx;
  console.log(
    `${title.padEnd(24)} ${result.requests.average.toFixed(0).padStart(7)} req/s   p50 ${result.latency.p50} ms   p99 ${result.latency.p99} ms   max ${result.latency.max} ms   errors ${errors}`,
  );
}

try {
  const upload = await fetch(`${service.url}/v1/files`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}` },
    body: uploadForm('{"prompt":"2+2?","completion":"4"}\n'),
  });
  const file = (await upload.json()) as { id: string };
  console.log(`glmtune API bench: ${values.connections} connections, ${values.seconds} s each, database ${env.DATABASE_URL ? 'postgres' : 'pglite'}, node ${process.version}`);
  await measure('GET /healthz', '/healthz');
  await measure('GET /v1/files/{id}', `/v1/files/${file.id}`, { authorization: `Bearer ${API_KEY}` });
} finally {
  await service.stop();
  await scratchDb?.drop();
  rmSync(dataDir, { recursive: true, force: true });
}
