// The service as a process: `npm start` on embedded defaults in a fresh data directory, first-start
// key, graceful SIGTERM, restart with the same data, and configuration errors that name the variable.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { call, chatLine, uploadForm } from '../helpers/http.ts';
import { spawnService, startServiceProcess } from '../helpers/process.ts';

test('on embedded defaults the service starts, mints and prints a first key once, serves, and stops cleanly', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'glmtune-proc-'));
  try {
    const first = await startServiceProcess({ DATA_DIR: dataDir });
    const key = /\n\s+(sk-glm-[0-9A-Za-z]{40})\n/.exec(first.output())?.[1];
    assert.ok(key, `the first start prints a key:\n${first.output()}`);
    const ready = await call(`${first.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body.checks, { database: { ok: true }, storage: { ok: true } });
    const up = await call(`${first.url}/v1/files`, { method: 'POST', key, body: uploadForm(chatLine('q', 'a')) });
    assert.equal(up.status, 200);
    assert.equal(await first.stop('SIGTERM'), 0, 'SIGTERM ends the process with status 0');
    const logs = first.output().split('\n').filter((l) => l.startsWith('{'));
    assert.ok(logs.length > 0);
    assert.ok(!logs.some((l) => l.includes(key)), 'the key never appears in the logs');

    const second = await startServiceProcess({ DATA_DIR: dataDir });
    assert.doesNotMatch(second.output(), /sk-glm-/, 'no new key on a restart');
    const list = await call(`${second.url}/v1/files`, { key });
    assert.deepEqual(list.body.data.map((f: { id: string }) => f.id), [up.body.id]);
    assert.equal(await second.stop(), 0);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a wrong setting stops the process with a message naming the variable', async () => {
  for (const [env, pattern] of [
    [{ PORT: 'eighty' }, /PORT: must be a port number/],
    [{ ROLE: 'boss' }, /ROLE: /],
    [{ DATABASE_URL: 'mysql://localhost/db' }, /DATABASE_URL: must be a postgres/],
    [{ S3_ENDPOINT: 'http://127.0.0.1:9000' }, /S3_BUCKET: required/],
  ] as const) {
    const { output, exited } = spawnService(env);
    assert.equal(await exited, 1, JSON.stringify(env));
    assert.match(output(), pattern);
    assert.doesNotMatch(output(), /at .*\.ts:\d+/, 'no stack trace for a configuration error');
  }
});
