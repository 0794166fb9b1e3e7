// bench/jobs.ts — p50/p99 latency of GET /healthz and GET /v1/fine_tuning/jobs/{id} with no training,
// and while two jobs train (TRAINER_CONCURRENCY=2): the HTTP event loop must not stall on training.
// The service runs as its own process on embedded defaults; autocannon drives it from this one.
// Usage: npx tsx bench/jobs.ts [--seconds 10] [--connections 20]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { call, uploadForm } from '../test/helpers/http.ts';
import { qaDataset, TINY_LORA, waitForJob } from '../test/helpers/jobs.ts';
import { startServiceProcess } from '../test/helpers/process.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, connections: { type: 'string', default: '20' } } });
const KEY = 'sk-glm-bench-key-0000000000000000000000';
const dataDir = mkdtempSync(join(tmpdir(), 'glmtune-bench-jobs-'));
const service = await startServiceProcess({ DATA_DIR: dataDir, GLMTUNE_API_KEY: KEY, LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '100000000', TRAINER_CONCURRENCY: '2' });

async function measure(title: string, path: string, auth: boolean) {
  const r = await autocannon({
    url: `${service.url}${path}`,
    connections: Number(values.connections),
    duration: Number(values.seconds),
    headers: auth ? { authorization: `Bearer ${KEY}` } : {},
  });
  console.log(`${title.padEnd(46)} p50 ${String(r.latency.p50).padStart(4)} ms   p99 ${String(r.latency.p99).padStart(4)} ms   ${r.requests.average.toFixed(0).padStart(6)} req/s   errors ${r.errors + r.timeouts + r.non2xx}`);
}

const createJob = async (file: string, steps: number) =>
  (
    await call(`${service.url}/v1/fine_tuning/jobs`, {
      method: 'POST',
      key: KEY,
      json: { model: 'glm-tiny', training_file: file, hyperparameters: { n_epochs: 1, batch_size: 1 }, tuning: { method: TINY_LORA, learning_rate: 5e-3, max_steps: steps } },
    })
  ).body as { id: string };

try {
  const file = (await call(`${service.url}/v1/files`, { method: 'POST', key: KEY, body: uploadForm(qaDataset()) })).body.id as string;
  const done = await createJob(file, 4);
  await waitForJob(service.url, KEY, done.id, ['succeeded']);
  console.log(`glmtune jobs bench: ${values.connections} connections, ${values.seconds} s per figure, glm-tiny LoRA jobs, node ${process.version}`);
  await measure('GET /healthz, no training', '/healthz', false);
  await measure('GET /v1/fine_tuning/jobs/{id}, no training', `/v1/fine_tuning/jobs/${done.id}`, true);

  const busy = [await createJob(file, 1_000_000), await createJob(file, 1_000_000)]; // cancelled below
  for (const job of busy) await waitForJob(service.url, KEY, job.id, ['running']);
  await measure('GET /healthz, two jobs training', '/healthz', false);
  await measure('GET /v1/fine_tuning/jobs/{id}, two jobs training', `/v1/fine_tuning/jobs/${done.id}`, true);
  const still = await Promise.all(busy.map((j) => call(`${service.url}/v1/fine_tuning/jobs/${j.id}`, { key: KEY })));
  console.log(`(both jobs were still running at the end: ${still.map((r) => `${r.body.status} at step ${r.body.progress.step}`).join(', ')})`);
  for (const job of busy) await call(`${service.url}/v1/fine_tuning/jobs/${job.id}/cancel`, { method: 'POST', key: KEY });
} finally {
  await service.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
