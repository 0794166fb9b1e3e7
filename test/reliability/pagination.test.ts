// Paging through files and jobs returns every row exactly once even when many were created in the same
// millisecond (found by bench/load.ts: Postgres keeps microseconds, a JS Date only milliseconds, so a
// cursor compared in JS repeated some rows and skipped others under load).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'drizzle-orm';
import { call, uploadForm } from '../helpers/http.ts';
import { qaDataset } from '../helpers/jobs.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

const ROWS = 24;

/** Gives the table's rows created_at values inside one millisecond, a microsecond apart, in random order. */
async function sameMillisecond(svc: TestService, table: 'files' | 'jobs'): Promise<void> {
  await svc.services.database.db.execute(
    sql.raw(`update ${table} t set created_at = timestamptz '2026-01-01 00:00:00.123000+00' + make_interval(secs => n.k / 1e6)
      from (select id, row_number() over (order by random()) as k from ${table}) n where n.id = t.id`),
  );
}

async function pages(svc: TestService, path: string, query: string): Promise<string[]> {
  const ids: string[] = [];
  let after = '';
  for (let page = 0; page < 100; page++) {
    const res = await call(`${svc.url}${path}?limit=5${query}${after ? `&after=${after}` : ''}`, { key: svc.apiKey });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    ids.push(...res.body.data.map((d: { id: string }) => d.id));
    if (!res.body.has_more) return ids;
    after = res.body.data.at(-1).id;
  }
  throw new Error('paging did not end');
}

for (const mode of ['postgres', 'embedded'] as const) {
  test(`${mode}: files and jobs made in the same millisecond: every page boundary holds, each row listed once, in order`, async () => {
    const svc = await startTestService({ mode });
    try {
      const fileIds: string[] = [];
      for (let i = 0; i < ROWS; i++) fileIds.push((await call(`${svc.url}/v1/files`, { method: 'POST', key: svc.apiKey, body: uploadForm(qaDataset()) })).body.id);
      const jobIds: string[] = [];
      for (let i = 0; i < ROWS; i++) {
        const res = await call(`${svc.url}/v1/fine_tuning/jobs`, { method: 'POST', key: svc.apiKey, json: { model: 'glm-tiny', training_file: fileIds[i], seed: i } });
        jobIds.push(res.body.id);
      }
      await sameMillisecond(svc, 'files');
      await sameMillisecond(svc, 'jobs');
      for (const [path, query, all] of [
        ['/v1/files', '&order=asc', fileIds],
        ['/v1/files', '&order=desc', fileIds],
        ['/v1/fine_tuning/jobs', '', jobIds],
      ] as const) {
        const listed = await pages(svc, path, query);
        assert.equal(listed.length, all.length, `${path}${query}: ${listed.length} listed for ${all.length} rows`);
        assert.deepEqual([...listed].sort(), [...all].sort(), `${path}${query}: each row exactly once`);
        const whole = (await call(`${svc.url}${path}?limit=100${query}`, { key: svc.apiKey })).body.data.map((d: { id: string }) => d.id);
        assert.deepEqual(listed, whole, `${path}${query}: pages in the same order as one page`);
      }
    } finally {
      await svc.destroy();
    }
  });
}
