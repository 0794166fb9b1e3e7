// bench/load.ts — 200 concurrent clients for 60 s against one service process, mixing dataset uploads,
// job creation, listings and short chat completions; once on embedded defaults (PGlite + the embedded
// S3 server) and once on Postgres + an S3 server in its own process. Prints requests/s, p50/p99/max
// latency and errors per route, then checks that every acknowledged upload and job exists exactly once.
// The worker role runs too: the jobs created are queued and trained one at a time while the load runs.
// Usage: npx tsx bench/load.ts [--seconds 60] [--clients 200] [--mode embedded|postgres|both] [--json]
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { uploadForm } from '../test/helpers/http.ts';
import { QA_PAIRS, qaDataset } from '../test/helpers/jobs.ts';
import { createTestDatabase } from '../test/helpers/postgres.ts';
import { startServiceProcess, type ServiceProcess } from '../test/helpers/process.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    clients: { type: 'string', default: '200' },
    mode: { type: 'string', default: 'both' },
    json: { type: 'boolean', default: false },
  },
});
const SECONDS = Number(values.seconds);
const CLIENTS = Number(values.clients);
const KEY = 'sk-glm-load-bench-key-000000000000000000';

/** What the clients do, and how often (weights). */
const MIX = [
  { route: 'POST /v1/files', weight: 20 },
  { route: 'POST /v1/fine_tuning/jobs', weight: 10 },
  { route: 'GET /v1/files', weight: 20 },
  { route: 'GET /v1/fine_tuning/jobs', weight: 15 },
  { route: 'GET /v1/fine_tuning/jobs/{id}', weight: 15 },
  { route: 'POST /v1/chat/completions', weight: 20 },
] as const;
type Route = (typeof MIX)[number]['route'];

interface RouteStats {
  latencies: number[];
  errors: number;
  firstError?: string;
}

interface Acknowledged {
  files: string[];
  jobs: string[];
}

function pick(): Route {
  const total = MIX.reduce((n, m) => n + m.weight, 0);
  let r = Math.random() * total;
  for (const m of MIX) if ((r -= m.weight) < 0) return m.route;
  return MIX[0].route;
}

/** One client: requests back to back until the deadline, each timed, every answer checked. */
async function client(url: string, id: number, deadline: number, stats: Map<Route, RouteStats>, acked: Acknowledged): Promise<void> {
  const mine: { files: string[]; jobs: string[] } = { files: [], jobs: [] };
  let n = 0;
  const auth = { authorization: `Bearer ${KEY}` };
  while (Date.now() < deadline) {
    let route = pick();
    if (route === 'POST /v1/fine_tuning/jobs' && mine.files.length === 0) route = 'POST /v1/files';
    if (route === 'GET /v1/fine_tuning/jobs/{id}' && mine.jobs.length === 0) route = 'GET /v1/fine_tuning/jobs';
    n++;
    const started = performance.now();
    let res: Response;
    try {
      switch (route) {
        case 'POST /v1/files':
          res = await fetch(`${url}/v1/files`, { method: 'POST', headers: auth, body: uploadForm(qaDataset([...QA_PAIRS, [`client ${id} upload ${n}`, 'ok']])) });
          break;
        case 'POST /v1/fine_tuning/jobs':
          res = await fetch(`${url}/v1/fine_tuning/jobs`, {
            method: 'POST',
            headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': `load-${id}-${n}` },
            body: JSON.stringify({ model: 'glm-tiny', training_file: mine.files[n % mine.files.length], seed: n, hyperparameters: { n_epochs: 1, batch_size: 4 }, metadata: { client: String(id), n: String(n) } }),
          });
          break;
        case 'GET /v1/files':
          res = await fetch(`${url}/v1/files?limit=20`, { headers: auth });
          break;
        case 'GET /v1/fine_tuning/jobs':
          res = await fetch(`${url}/v1/fine_tuning/jobs?limit=20`, { headers: auth });
          break;
        case 'GET /v1/fine_tuning/jobs/{id}':
          res = await fetch(`${url}/v1/fine_tuning/jobs/${mine.jobs[n % mine.jobs.length]}`, { headers: auth });
          break;
        case 'POST /v1/chat/completions':
          res = await fetch(`${url}/v1/chat/completions`, {
            method: 'POST',
            headers: { ...auth, 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'glm-tiny', messages: [{ role: 'user', content: `hello ${n}` }], max_tokens: 8 }),
          });
          break;
      }
      const body = (await res.json()) as { id?: string; error?: { message: string } };
      const entry = stats.get(route)!;
      entry.latencies.push(performance.now() - started);
      if (!res.ok) {
        entry.errors++;
        entry.firstError ??= `${res.status} ${body.error?.message ?? JSON.stringify(body).slice(0, 200)}`;
      } else if (route === 'POST /v1/files') {
        mine.files.push(body.id!);
        acked.files.push(body.id!);
      } else if (route === 'POST /v1/fine_tuning/jobs') {
        mine.jobs.push(body.id!);
        acked.jobs.push(body.id!);
      }
    } catch (err) {
      const entry = stats.get(route)!;
      entry.errors++;
      entry.firstError ??= (err as Error).message;
    }
  }
}

/** Every page of a list endpoint: the ids it holds. */
async function listAll(url: string, path: string, extra = ''): Promise<string[]> {
  const ids: string[] = [];
  let after = '';
  for (;;) {
    const res = await fetch(`${url}${path}?limit=100${extra}${after ? `&after=${after}` : ''}`, { headers: { authorization: `Bearer ${KEY}` } });
    const page = (await res.json()) as { data: { id: string }[]; has_more: boolean };
    ids.push(...page.data.map((d) => d.id));
    if (!page.has_more) return ids;
    after = page.data[page.data.length - 1].id;
  }
}

/** Each acknowledged id is listed exactly once, and the list holds nothing else. */
function exactlyOnce(acknowledged: string[], listed: string[]): { ok: boolean; detail: string } {
  const counts = new Map<string, number>();
  for (const id of listed) counts.set(id, (counts.get(id) ?? 0) + 1);
  const missing = acknowledged.filter((id) => !counts.has(id)).length;
  const duplicated = [...counts.values()].filter((c) => c > 1).length;
  const unacknowledged = listed.length - acknowledged.length - duplicated;
  const ok = missing === 0 && duplicated === 0 && listed.length === acknowledged.length && new Set(acknowledged).size === acknowledged.length;
  return { ok, detail: `${acknowledged.length} acknowledged, ${listed.length} listed, ${missing} missing, ${duplicated} duplicated, ${Math.max(0, unacknowledged)} unacknowledged` };
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** An S3 server in a process of its own, so that it does not share the clients' event loop. */
async function startS3Process(dir: string): Promise<{ endpoint: string; child: ChildProcess }> {
  const script = `import('./src/storage/embedded-s3.ts').then(async ({ startEmbeddedS3 }) => { const s3 = await startEmbeddedS3(${JSON.stringify(dir)}); console.log(s3.endpoint); })`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => resolve(d.toString().trim()));
    child.on('exit', (code) => reject(new Error(`the S3 process exited with ${code}`)));
  });
  return { endpoint, child };
}

async function run(mode: 'embedded' | 'postgres') {
  const dirs = [mkdtempSync(join(tmpdir(), 'glmtune-load-'))];
  const env: Record<string, string> = { DATA_DIR: dirs[0], GLMTUNE_API_KEY: KEY, LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '100000000' };
  const db = mode === 'postgres' ? await createTestDatabase() : undefined;
  let s3: { endpoint: string; child: ChildProcess } | undefined;
  if (mode === 'postgres') {
    dirs.push(mkdtempSync(join(tmpdir(), 'glmtune-load-s3-')));
    s3 = await startS3Process(dirs[1]);
    Object.assign(env, { DATABASE_URL: db!.url, S3_ENDPOINT: s3.endpoint, S3_BUCKET: 'glmtune-load', S3_ACCESS_KEY_ID: 'S3RVER', S3_SECRET_ACCESS_KEY: 'S3RVER' });
  }
  let service: ServiceProcess | undefined;
  try {
    service = await startServiceProcess(env, 120_000);
    // One warm-up chat so that the first client does not pay for loading the model.
    await fetch(`${service.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'glm-tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }) });
    const stats = new Map<Route, RouteStats>(MIX.map((m) => [m.route, { latencies: [], errors: 0 }]));
    const acked: Acknowledged = { files: [], jobs: [] };
    const started = Date.now();
    const deadline = started + SECONDS * 1000;
    await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(service!.url, i, deadline, stats, acked)));
    const elapsed = (Date.now() - started) / 1000;
    const files = exactlyOnce(acked.files, await listAll(service.url, '/v1/files', '&purpose=fine-tune&order=asc'));
    const jobs = exactlyOnce(acked.jobs, await listAll(service.url, '/v1/fine_tuning/jobs'));
    const routes = [...stats.entries()].map(([route, s]) => {
      const sorted = [...s.latencies].sort((a, b) => a - b);
      return { route, requests: sorted.length, perSecond: sorted.length / elapsed, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? 0, errors: s.errors, firstError: s.firstError };
    });
    return { mode, clients: CLIENTS, seconds: elapsed, routes, files, jobs };
  } finally {
    await service?.stop();
    s3?.child.kill();
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

const modes = values.mode === 'both' ? (['embedded', 'postgres'] as const) : ([values.mode as 'embedded' | 'postgres'] as const);
const results = [];
for (const mode of modes) {
  const result = await run(mode);
  results.push(result);
  if (values.json) continue;
  const total = result.routes.reduce((n, r) => n + r.requests, 0);
  const errors = result.routes.reduce((n, r) => n + r.errors, 0);
  console.log(`\n${mode === 'embedded' ? 'embedded defaults (PGlite + embedded S3)' : 'Postgres + S3 server'}: ${result.clients} clients, ${result.seconds.toFixed(0)} s, ${(total / result.seconds).toFixed(0)} req/s, ${errors} errors`);
  console.log(`| route | requests | req/s | p50 ms | p99 ms | max ms | errors |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |`);
  for (const r of result.routes) {
    console.log(`| \`${r.route}\` | ${r.requests} | ${r.perSecond.toFixed(1)} | ${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} | ${r.max.toFixed(0)} | ${r.errors} |`);
    if (r.firstError) console.log(`  first error: ${r.firstError}`);
  }
  console.log(`uploads: ${result.files.ok ? 'each exactly once' : 'MISMATCH'} (${result.files.detail})`);
  console.log(`jobs: ${result.jobs.ok ? 'each exactly once' : 'MISMATCH'} (${result.jobs.detail})`);
}
if (values.json) console.log(JSON.stringify(results, null, 1));
const failed = results.some((r) => !r.files.ok || !r.jobs.ok || r.routes.some((x) => x.errors > 0));
process.exit(failed ? 1 : 0);
