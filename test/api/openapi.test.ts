// The committed OpenAPI document is what the code generates, it is served, and it is good enough to
// generate a typed client (openapi-typescript + openapi-fetch) that then talks to the running service.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import { generateOpenApiDocument, serialiseDocument } from '../../src/api/openapi-document.ts';
import { randomBase62 } from '../../src/ids.ts';
import { call } from '../helpers/http.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

const committedPath = fileURLToPath(new URL('../../openapi/openapi.json', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
// Async: the service under test runs in this process, so a blocking child would deadlock it.
const run = promisify(execFile);

let svc: TestService;
before(async () => {
  svc = await startTestService();
});
after(async () => {
  await svc.destroy();
});

test('openapi/openapi.json is up to date with the code (run `npm run openapi` after changing routes)', async () => {
  const generated = serialiseDocument(await generateOpenApiDocument());
  assert.equal(readFileSync(committedPath, 'utf8'), generated);
});

test('the running service serves the same document at /openapi.json, and docs at /docs', async () => {
  const served = await call(`${svc.url}/openapi.json`);
  assert.deepEqual(served.body, JSON.parse(readFileSync(committedPath, 'utf8')));
  const docs = await fetch(`${svc.url}/docs/`);
  assert.equal(docs.status, 200);
  assert.match(await docs.text(), /swagger/i);
});

test('a client generated from the committed document typechecks and works against the service', async () => {
  const dir = join(repoRoot, 'test', 'artifacts', `generated-client-${randomBase62(8)}`);
  if (process.env.KEEP_GENERATED) console.log(dir);
  mkdirSync(dir, { recursive: true });
  try {
    const ast = await openapiTS(new URL(`file://${committedPath}`));
    writeFileSync(join(dir, 'schema.d.ts'), astToString(ast));
    writeFileSync(
      join(dir, 'client.ts'),
      `import createClient from 'openapi-fetch';
import type { paths } from './schema.d.ts';

const client = createClient<paths>({ baseUrl: process.argv[2], headers: { authorization: \`Bearer \${process.argv[3]}\` } });
const form = new FormData();
form.append('file', new Blob(['{"prompt":"2+2?","completion":"4"}\\n']), 'sum.jsonl');
form.append('purpose', 'fine-tune');
const created = await client.POST('/v1/files', { body: form as never, bodySerializer: () => form });
if (!created.data) throw new Error(JSON.stringify(created.error));
const id: string = created.data.id;
const format: string | null = created.data.format;
const one = await client.GET('/v1/files/{file_id}', { params: { path: { file_id: id } } });
const list = await client.GET('/v1/files', { params: { query: { limit: 5, order: 'asc' } } });
const missing = await client.GET('/v1/files/{file_id}', { params: { path: { file_id: 'file-none' } } });
const code: string | null | undefined = missing.error?.error.code;
console.log(JSON.stringify({ id, format, retrieved: one.data?.id, listed: list.data?.data.map((f) => f.id), code }));
`,
    );
    // Typecheck the generated types and the client against them.
    await run(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--allowImportingTsExtensions', join(dir, 'client.ts')], { cwd: repoRoot });
    const { stdout: out } = await run(process.execPath, ['--import', 'tsx', join(dir, 'client.ts'), svc.url, svc.apiKey], { cwd: repoRoot });
    const result = JSON.parse(out.trim().split('\n').at(-1)!);
    assert.match(result.id, /^file-/);
    assert.equal(result.format, 'prompt-completion');
    assert.equal(result.retrieved, result.id);
    assert.ok(result.listed.includes(result.id));
    assert.equal(result.code, 'not_found');
  } finally {
    if (!process.env.KEEP_GENERATED) rmSync(dir, { recursive: true, force: true });
  }
});
