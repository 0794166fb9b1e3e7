// The Files API over real HTTP, against real Postgres and a real S3-compatible server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, chatLine, errorOf, uploadForm } from '../helpers/http.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let svc: TestService;
let otherKey: string;

before(async () => {
  svc = await startTestService();
  otherKey = await svc.newOrganization('other-org');
});
after(async () => {
  await svc.destroy();
});

const upload = (content: string | Uint8Array, options: Parameters<typeof uploadForm>[1] & { key?: string } = {}) =>
  call(`${svc.url}/v1/files`, { method: 'POST', key: options.key ?? svc.apiKey, body: uploadForm(content, options) });

async function objectKeys(): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of svc.services.blobs.list('files/')) keys.push(o.key);
  return keys;
}

describe('upload, list, retrieve, content, delete', () => {
  test('a dataset round-trips byte for byte, with its size and sha256', async () => {
    const content = [chatLine('你好', '你好！我是助手。'), chatLine('What is 2+2?', '4')].join('\n') + '\n';
    const res = await upload(content, { filename: 'chat.jsonl' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const file = res.body;
    assert.match(file.id, /^file-[0-9A-Za-z]{24}$/);
    assert.equal(file.object, 'file');
    assert.equal(file.filename, 'chat.jsonl');
    assert.equal(file.purpose, 'fine-tune');
    assert.equal(file.status, 'processed');
    assert.equal(file.status_details, null);
    assert.equal(file.bytes, Buffer.byteLength(content));
    assert.equal(file.format, 'openai-chat');
    assert.equal(file.examples, 2);
    const { createHash } = await import('node:crypto');
    assert.equal(file.sha256, createHash('sha256').update(content).digest('hex'));

    const got = await call(`${svc.url}/v1/files/${file.id}`, { key: svc.apiKey });
    assert.deepEqual(got.body, file);

    const raw = await fetch(`${svc.url}/v1/files/${file.id}/content`, { headers: { authorization: `Bearer ${svc.apiKey}` } });
    assert.equal(raw.status, 200);
    assert.equal(Buffer.from(await raw.arrayBuffer()).toString('utf8'), content);
    assert.match(raw.headers.get('content-disposition') ?? '', /^attachment; filename="chat.jsonl"/);

    const list = await call(`${svc.url}/v1/files`, { key: svc.apiKey });
    assert.equal(list.status, 200);
    assert.equal(list.body.object, 'list');
    assert.ok(list.body.data.some((f: { id: string }) => f.id === file.id));

    const del = await call(`${svc.url}/v1/files/${file.id}`, { method: 'DELETE', key: svc.apiKey });
    assert.deepEqual(del.body, { id: file.id, object: 'file', deleted: true });
    assert.equal((await call(`${svc.url}/v1/files/${file.id}`, { key: svc.apiKey })).status, 404);
    assert.ok(!(await objectKeys()).includes(`files/${file.id}`), 'the object is removed with the row');
  });

  test('a file larger than one multipart part streams through intact', async () => {
    const line = chatLine('a'.repeat(1000), 'b'.repeat(1000)) + '\n';
    const content = line.repeat(Math.ceil((20 * 1024 * 1024) / line.length)); // ~20 MiB: three S3 parts
    const res = await upload(content);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.bytes, Buffer.byteLength(content));
    const raw = await fetch(`${svc.url}/v1/files/${res.body.id}/content`, { headers: { authorization: `Bearer ${svc.apiKey}` } });
    const back = Buffer.from(await raw.arrayBuffer());
    assert.equal(back.length, Buffer.byteLength(content));
    assert.ok(back.equals(Buffer.from(content)));
  });

  test('purpose may come before or after the file part', async () => {
    const res = await upload(chatLine('q', 'a'), { fileFirst: false });
    assert.equal(res.status, 200);
    assert.equal(res.body.purpose, 'fine-tune');
  });

  test('pagination: limit, after, order, has_more, first_id and last_id', async () => {
    const key = await svc.newOrganization('paging-org');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await upload(chatLine(`q${i}`, `a${i}`), { key, filename: `f${i}.jsonl` });
      ids.push(r.body.id);
    }
    const page1 = await call(`${svc.url}/v1/files?limit=2`, { key });
    assert.deepEqual(page1.body.data.map((f: { id: string }) => f.id), [ids[4], ids[3]]);
    assert.equal(page1.body.has_more, true);
    assert.equal(page1.body.first_id, ids[4]);
    assert.equal(page1.body.last_id, ids[3]);
    const page2 = await call(`${svc.url}/v1/files?limit=2&after=${page1.body.last_id}`, { key });
    assert.deepEqual(page2.body.data.map((f: { id: string }) => f.id), [ids[2], ids[1]]);
    const page3 = await call(`${svc.url}/v1/files?limit=2&after=${page2.body.last_id}`, { key });
    assert.deepEqual(page3.body.data.map((f: { id: string }) => f.id), [ids[0]]);
    assert.equal(page3.body.has_more, false);
    const asc = await call(`${svc.url}/v1/files?order=asc`, { key });
    assert.deepEqual(asc.body.data.map((f: { id: string }) => f.id), ids);
    const none = await call(`${svc.url}/v1/files?purpose=fine-tune-results`, { key });
    assert.deepEqual(none.body, { object: 'list', data: [], first_id: null, last_id: null, has_more: false });
  });
});

describe('bad requests', () => {
  test('wrong and missing keys get 401 in the error shape', async () => {
    const missing = await call(`${svc.url}/v1/files`);
    assert.equal(missing.status, 401);
    assert.equal(errorOf(missing).code, 'missing_api_key');
    const wrong = await call(`${svc.url}/v1/files`, { key: 'sk-glm-not-a-real-key-at-all-000000000' });
    assert.equal(wrong.status, 401);
    assert.equal(errorOf(wrong).code, 'invalid_api_key');
    const upload401 = await upload(chatLine('q', 'a'), { key: 'sk-glm-wrong' });
    assert.equal(upload401.status, 401);
  });

  test("another organization's file answers 404 on every route", async () => {
    const mine = await upload(chatLine('secret', 'data'));
    for (const [method, path] of [['GET', ''], ['GET', '/content'], ['DELETE', '']] as const) {
      const res = await call(`${svc.url}/v1/files/${mine.body.id}${path}`, { method, key: otherKey });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(errorOf(res).code, 'not_found');
      assert.ok(!JSON.stringify(res.body).includes('secret'));
    }
    const list = await call(`${svc.url}/v1/files`, { key: otherKey });
    assert.ok(!list.body.data.some((f: { id: string }) => f.id === mine.body.id));
    assert.equal((await call(`${svc.url}/v1/files/${mine.body.id}`, { key: svc.apiKey })).status, 200, 'still there for its owner');
  });

  test('a wrong purpose, a missing file or purpose, and a non-multipart body are 4xx naming the field', async () => {
    const before = await objectKeys();
    const purpose = await upload(chatLine('q', 'a'), { purpose: 'assistants' });
    assert.equal(purpose.status, 400);
    assert.equal(errorOf(purpose).param, 'purpose');
    const noPurpose = await upload(chatLine('q', 'a'), { purpose: null });
    assert.equal(noPurpose.status, 400);
    assert.equal(errorOf(noPurpose).param, 'purpose');
    const form = new FormData();
    form.append('purpose', 'fine-tune');
    const noFile = await call(`${svc.url}/v1/files`, { method: 'POST', key: svc.apiKey, body: form });
    assert.equal(noFile.status, 400);
    assert.equal(errorOf(noFile).param, 'file');
    const json = await call(`${svc.url}/v1/files`, { method: 'POST', key: svc.apiKey, json: { purpose: 'fine-tune' } });
    assert.equal(json.status, 415);
    errorOf(json);
    assert.deepEqual(await objectKeys(), before, 'rejected uploads leave no object behind');
  });

  test('bad query parameters name the parameter', async () => {
    const res = await call(`${svc.url}/v1/files?limit=0`, { key: svc.apiKey });
    assert.equal(res.status, 400);
    assert.equal(errorOf(res).param, 'limit');
    const order = await call(`${svc.url}/v1/files?order=sideways`, { key: svc.apiKey });
    assert.equal(errorOf(order).param, 'order');
    const afterUnknown = await call(`${svc.url}/v1/files?after=file-nope`, { key: svc.apiKey });
    assert.equal(afterUnknown.status, 400);
    assert.equal(errorOf(afterUnknown).param, 'after');
  });

  test('unknown routes answer 404 in the error shape', async () => {
    const res = await call(`${svc.url}/v1/nothing-here`, { key: svc.apiKey });
    assert.equal(res.status, 404);
    assert.equal(errorOf(res).code, 'unknown_url');
  });

  test('a filename with quotes and control characters cannot break the download header', async () => {
    const res = await upload(chatLine('q', 'a'), { filename: 'evil"\r\nx-injected: 1;name.jsonl' });
    assert.equal(res.status, 200);
    const raw = await fetch(`${svc.url}/v1/files/${res.body.id}/content`, { headers: { authorization: `Bearer ${svc.apiKey}` } });
    assert.equal(raw.headers.get('x-injected'), null);
    const disposition = raw.headers.get('content-disposition') ?? '';
    assert.match(disposition, /^attachment; filename="[^"]*"; filename\*=UTF-8''/);
  });
});

describe('size limit', () => {
  test('an upload beyond MAX_UPLOAD_BYTES is 413 and leaves no row or object', async () => {
    const small = await startTestService({ env: { MAX_UPLOAD_BYTES: '2048' } });
    try {
      const content = (chatLine('q'.repeat(100), 'a'.repeat(100)) + '\n').repeat(40);
      const res = await call(`${small.url}/v1/files`, { method: 'POST', key: small.apiKey, body: uploadForm(content) });
      assert.equal(res.status, 413);
      assert.equal(errorOf(res).code, 'payload_too_large');
      const list = await call(`${small.url}/v1/files`, { key: small.apiKey });
      assert.deepEqual(list.body.data, []);
      const objects: string[] = [];
      for await (const o of small.services.blobs.list('')) objects.push(o.key);
      assert.deepEqual(objects, []);
      const fits = await call(`${small.url}/v1/files`, { method: 'POST', key: small.apiKey, body: uploadForm(chatLine('q', 'a')) });
      assert.equal(fits.status, 200, 'a file under the limit is still accepted');
    } finally {
      await small.destroy();
    }
  });
});
