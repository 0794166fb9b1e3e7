// The service keeps every file across a restart: on embedded defaults (PGlite + embedded S3 under
// DATA_DIR) and on Postgres + an S3 server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { call, chatLine, uploadForm } from '../helpers/http.ts';
import { startTestService } from '../helpers/service.ts';

for (const mode of ['embedded', 'postgres'] as const) {
  test(`${mode}: files uploaded before a restart are all there after it, byte for byte`, async () => {
    const first = await startTestService({ mode });
    const contents = [chatLine('一', '二'), chatLine('three', 'four'), chatLine('five', 'six')];
    const ids: string[] = [];
    for (const c of contents) {
      const res = await call(`${first.url}/v1/files`, { method: 'POST', key: first.apiKey, body: uploadForm(c) });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      ids.push(res.body.id);
    }
    await first.stop();

    const second = await startTestService({ mode, reuse: first });
    try {
      const list = await call(`${second.url}/v1/files?order=asc`, { key: second.apiKey });
      assert.deepEqual(list.body.data.map((f: { id: string }) => f.id), ids);
      for (const [i, id] of ids.entries()) {
        const raw = await fetch(`${second.url}/v1/files/${id}/content`, { headers: { authorization: `Bearer ${second.apiKey}` } });
        assert.equal(await raw.text(), contents[i]);
      }
    } finally {
      await second.destroy();
    }
  });
}
