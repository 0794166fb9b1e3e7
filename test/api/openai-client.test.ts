// The official `openai` npm client, pointed at our /v1, drives the Files API.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI, { toFile } from 'openai';
import { chatLine } from '../helpers/http.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let svc: TestService;
let client: OpenAI;
before(async () => {
  svc = await startTestService();
  client = new OpenAI({ baseURL: `${svc.url}/v1`, apiKey: svc.apiKey, maxRetries: 0 });
});
after(async () => {
  await svc.destroy();
});

test('files.create, list, retrieve, content, waitForProcessing and delete work with the openai client', async () => {
  const content = [chatLine('Who are you?', 'I am glmtune.'), chatLine('你是谁？', '我是 glmtune。')].join('\n') + '\n';
  const created = await client.files.create({ file: await toFile(Buffer.from(content), 'train.jsonl'), purpose: 'fine-tune' });
  assert.equal(created.object, 'file');
  assert.equal(created.filename, 'train.jsonl');
  assert.equal(created.bytes, Buffer.byteLength(content));

  const processed = await client.files.waitForProcessing(created.id, { pollInterval: 50 });
  assert.equal(processed.status, 'processed');

  const retrieved = await client.files.retrieve(created.id);
  assert.equal(retrieved.id, created.id);

  const page = await client.files.list({ purpose: 'fine-tune' });
  assert.ok(page.data.some((f) => f.id === created.id));
  const all = [];
  for await (const f of client.files.list({ limit: 1 })) all.push(f.id); // auto-pagination follows `after`
  assert.ok(all.includes(created.id));

  const body = await client.files.content(created.id);
  assert.equal(await body.text(), content);

  const deleted = await client.files.delete(created.id);
  assert.deepEqual(deleted, { id: created.id, object: 'file', deleted: true });
  await assert.rejects(client.files.retrieve(created.id), (err: unknown) => err instanceof OpenAI.NotFoundError);
});

test('errors surface as the client’s typed errors with our message', async () => {
  const bad = new OpenAI({ baseURL: `${svc.url}/v1`, apiKey: 'sk-glm-wrong-key-000000000000', maxRetries: 0 });
  await assert.rejects(bad.files.list(), (err: unknown) => err instanceof OpenAI.AuthenticationError && /Incorrect API key/.test(err.message));
  await assert.rejects(
    client.files.create({ file: await toFile(Buffer.from('{}'), 'x.jsonl'), purpose: 'assistants' }),
    (err: unknown) => err instanceof OpenAI.BadRequestError && (err as InstanceType<typeof OpenAI.BadRequestError>).param === 'purpose',
  );
});
