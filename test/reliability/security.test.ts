// Keys, names and headers: API keys are stored only as sha256 hashes and a revoked key fails on the
// very next request in every process; file and artifact names cannot climb out of their bucket prefix
// or a local folder; every download's Content-Disposition is safe whatever the name holds.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import pg from 'pg';
import { call, uploadForm } from '../helpers/http.ts';
import { qaDataset, TINY_LORA, waitForJob } from '../helpers/jobs.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

const ADMIN_KEY = 'sk-glm-admin-key-of-the-security-test-00';
let svc: TestService;

before(async () => {
  svc = await startTestService({ worker: true, env: { GLMTUNE_ADMIN_KEY: ADMIN_KEY } });
});
after(async () => {
  await svc.destroy();
});

async function query<T>(text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: svc.database!.url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

test('keys are stored as sha256 hashes only; a revoked key fails on the next request in every process', async () => {
  const second = await startTestService({ reuse: svc }); // another process's view: same database, no shared memory
  try {
    const org = (await call(`${svc.url}/v1/admin/organizations`, { method: 'POST', key: ADMIN_KEY, json: { name: 'keys-at-rest' } })).body;
    const key: string = org.api_key.key;
    const stored = await query<Record<string, unknown>>('select * from api_keys where organization_id = $1', [org.organization.id]);
    assert.equal(stored.length, 1);
    assert.ok(!JSON.stringify(stored).includes(key.slice('sk-glm-'.length, 20)), 'no part of the secret beyond the display prefix is stored');
    assert.equal(stored[0].key_hash, createHash('sha256').update(key).digest('hex'));

    // Warm both processes with the key, then revoke it in one and use it at once in the other.
    assert.equal((await call(`${svc.url}/v1/files`, { key })).status, 200);
    assert.equal((await call(`${second.url}/v1/files`, { key })).status, 200);
    const revoked = await call(`${svc.url}/v1/admin/organizations/${org.organization.id}/keys/${org.api_key.id}`, { method: 'DELETE', key: ADMIN_KEY });
    assert.equal(revoked.status, 200);
    assert.equal((await call(`${second.url}/v1/files`, { key })).status, 401, 'revoked in one process, refused by the other on the next request');
    assert.equal((await call(`${svc.url}/v1/files`, { key })).status, 401);
  } finally {
    await second.stop(); // its own pool and app only: the database and S3 server stay
  }
});

test('file names cannot reach object keys: every object lives under an id the service made', async () => {
  const names = ['../../../../etc/passwd', '..\\..\\windows\\win.ini', '/absolute/path.jsonl', 'files/../../models/x', '%2e%2e%2fsecret', '....//....//x'];
  for (const filename of names) {
    const res = await call(`${svc.url}/v1/files`, { method: 'POST', key: svc.apiKey, body: uploadForm(qaDataset(), { filename }) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.ok(!res.body.filename.includes('/') && !res.body.filename.includes('\\'), `stored name ${res.body.filename} has no path`);
  }
  const job = await call(`${svc.url}/v1/fine_tuning/jobs`, {
    method: 'POST',
    key: svc.apiKey,
    json: { model: 'glm-tiny', training_file: (await call(`${svc.url}/v1/files?limit=1`, { key: svc.apiKey })).body.data[0].id, suffix: '..', hyperparameters: { n_epochs: 2, batch_size: 2 }, tuning: { method: TINY_LORA, save_steps: 2 } },
  });
  assert.equal(job.status, 200, JSON.stringify(job.body));
  const done = await waitForJob(svc.url, svc.apiKey, job.body.id, ['succeeded']);
  const keys: string[] = [];
  for await (const o of svc.services.blobs.list('')) keys.push(o.key);
  const shapes = [/^files\/file-[0-9A-Za-z]+$/, /^jobs\/ftjob-[0-9A-Za-z]+\/checkpoints\/\d+\/[\w./-]+$/, /^models\/ftjob-[0-9A-Za-z]+\/[\w./-]+$/];
  for (const key of keys) {
    assert.ok(shapes.some((s) => s.test(key)), `object key ${key} has a shape the service made`);
    assert.ok(!key.split('/').includes('..'), `object key ${key} has no '..' segment`);
  }
  assert.match(done.fine_tuned_model, /^ft:glm-tiny:default:\.\.:/, 'a suffix of dots stays inside the model id');
});

test('artifact names cannot climb out of the model’s folder; the tar holds only relative names inside one folder', async () => {
  const job = (await call(`${svc.url}/v1/fine_tuning/jobs?limit=1`, { key: svc.apiKey })).body.data[0];
  const model = encodeURIComponent(job.fine_tuned_model);
  const fileId = (await call(`${svc.url}/v1/files?limit=1`, { key: svc.apiKey })).body.data[0].id;
  const listed = (await call(`${svc.url}/v1/models/${model}/artifacts`, { key: svc.apiKey })).body.data as { name: string }[];
  assert.ok(listed.length > 0);
  for (const name of [`../../files/${fileId}`, `../../../files/${fileId}`, `..%2F..%2Ffiles%2F${fileId}`, '/etc/passwd', `export/../${listed[0].name}`, `${listed[0].name}/..`, `./${listed[0].name}`, `${listed[0].name}%00`]) {
    const res = await fetch(`${svc.url}/v1/models/${model}/artifacts/${name.includes('%') ? name : encodeURIComponent(name)}`, { headers: { authorization: `Bearer ${svc.apiKey}` } });
    const text = await res.text();
    assert.ok(res.status === 404 || res.status === 400, `${name}: ${res.status} ${text.slice(0, 200)}`);
    assert.ok(!text.includes('"messages"'), `${name}: the answer holds no dataset`);
  }
  const tar = Buffer.from(await (await fetch(`${svc.url}/v1/models/${model}/artifacts.tar`, { headers: { authorization: `Bearer ${svc.apiKey}` } })).arrayBuffer());
  const members: string[] = [];
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const field = (from: number, length: number) => header.subarray(from, from + length).toString('utf8').replace(/\0.*$/s, '');
    const name = (field(345, 155) ? `${field(345, 155)}/` : '') + field(0, 100);
    members.push(name);
    at += 512 + Math.ceil(parseInt(field(124, 12).trim() || '0', 8) / 512) * 512;
  }
  assert.ok(members.length >= listed.length, `tar members: ${members.join(', ')}`);
  const top = members[0].split('/')[0];
  for (const name of members) {
    assert.ok(!name.startsWith('/') && !name.split('/').includes('..'), `tar member ${name} stays relative`);
    assert.equal(name.split('/')[0], top, `tar member ${name} is inside the one top folder`);
  }
});

test('Content-Disposition is safe for any file name: no header injection, an ASCII fallback, the exact name in filename*', async () => {
  const names = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.constantFrom('a"b.jsonl', 'a\r\nSet-Cookie: x=1.jsonl', 'a\\b";.jsonl', 'na\u0000me.jsonl', '😀 データ.jsonl', "x'; filename=evil.exe"),
  );
  await fc.assert(
    fc.asyncProperty(names, async (filename) => {
      const up = await call(`${svc.url}/v1/files`, { method: 'POST', key: svc.apiKey, body: uploadForm('{"prompt":"a","completion":"b"}\n', { filename }) });
      assert.equal(up.status, 200, JSON.stringify(up.body));
      const res = await fetch(`${svc.url}/v1/files/${up.body.id}/content`, { headers: { authorization: `Bearer ${svc.apiKey}` } });
      await res.arrayBuffer();
      const header = res.headers.get('content-disposition')!;
      assert.equal(res.headers.get('set-cookie'), null);
      const match = /^attachment; filename="([\x20-\x7e]*)"; filename\*=UTF-8''([A-Za-z0-9%!'()*._~-]*)$/.exec(header);
      assert.ok(match, `header ${JSON.stringify(header)}`);
      assert.ok(!/["\\]/.test(match[1]), `the quoted fallback holds no quote or backslash: ${header}`);
      assert.equal(decodeURIComponent(match[2]), up.body.filename, 'filename* is exactly the stored name');
    }),
    { numRuns: 40 },
  );
});
