// File objects, file lists, deletions and error bodies validate against OpenAI's published schemas.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertOpenAISchema } from '../helpers/openai-schemas.ts';
import { call, chatLine, uploadForm } from '../helpers/http.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let svc: TestService;
before(async () => {
  svc = await startTestService();
});
after(async () => {
  await svc.destroy();
});

test('the schema check itself rejects a wrong object', () => {
  assert.throws(() => assertOpenAISchema('OpenAIFile', { id: 'file-x', object: 'file' }), /OpenAIFile mismatch/);
});

test('file, list, deletion and error bodies match OpenAI’s schemas', async () => {
  const good = await call(`${svc.url}/v1/files`, { method: 'POST', key: svc.apiKey, body: uploadForm(chatLine('q', 'a')) });
  assertOpenAISchema('OpenAIFile', good.body);
  const bad = await call(`${svc.url}/v1/files`, { method: 'POST', key: svc.apiKey, body: uploadForm('not json') });
  assert.equal(bad.body.status, 'error');
  assertOpenAISchema('OpenAIFile', bad.body);
  assertOpenAISchema('OpenAIFile', (await call(`${svc.url}/v1/files/${good.body.id}`, { key: svc.apiKey })).body);
  assertOpenAISchema('ListFilesResponse', (await call(`${svc.url}/v1/files`, { key: svc.apiKey })).body);
  assertOpenAISchema('ListFilesResponse', (await call(`${svc.url}/v1/files?purpose=fine-tune-results`, { key: svc.apiKey })).body);
  assertOpenAISchema('DeleteFileResponse', (await call(`${svc.url}/v1/files/${good.body.id}`, { method: 'DELETE', key: svc.apiKey })).body);
  for (const res of [
    await call(`${svc.url}/v1/files`),
    await call(`${svc.url}/v1/files/file-missing`, { key: svc.apiKey }),
    await call(`${svc.url}/v1/files?limit=-1`, { key: svc.apiKey }),
    await call(`${svc.url}/v1/unknown`, { key: svc.apiKey }),
  ]) {
    assert.ok(res.status >= 400 && res.status < 500);
    assertOpenAISchema('ErrorResponse', res.body);
  }
});
