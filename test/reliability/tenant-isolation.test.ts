// Tenant isolation over every route of the committed openapi/openapi.json: organization A owns a dataset,
// a trained job (events, checkpoints, result file) and its fine-tuned models; organization B probes each
// of them on every operation, with A's ids in path parameters, query parameters and body fields. B gets
// 404 (or a 4xx for the field), never A's data, and changes nothing; A's own key gets its objects
// (proving the probes aim at real things). A route added later is probed without a change here; a
// path parameter this test cannot fill fails it, so that no route goes unprobed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { call, uploadForm } from '../helpers/http.ts';
import { QA_PAIRS, qaDataset, TINY_LORA, waitForJob } from '../helpers/jobs.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import { operations, readOpenApi, type OpenApiDocument } from './helpers/openapi-requests.ts';

const ADMIN_KEY = 'sk-glm-admin-key-of-the-isolation-test-0';
const SECRET = 'tenant-A-secret-payload-7f3a';
const SECRET_FILENAME = 'tenant-a-confidential.jsonl';
let svc: TestService;
let keyB: string;
/** A's objects, by the path parameter or field name that holds such an id. */
const ofA: Record<string, string[]> = {};
/** Everything of A that must never show in B's answers. */
let markers: string[] = [];

before(async () => {
  svc = await startTestService({ worker: true, env: { GLMTUNE_ADMIN_KEY: ADMIN_KEY } });
  keyB = await svc.newOrganization('tenant-b');
  const dataset = qaDataset([['What is the secret?', SECRET], ...QA_PAIRS]);
  const file = await call(`${svc.url}/v1/files`, { method: 'POST', key: svc.apiKey, body: uploadForm(dataset, { filename: SECRET_FILENAME }) });
  assert.equal(file.status, 200, JSON.stringify(file.body));
  const job = await call(`${svc.url}/v1/fine_tuning/jobs`, {
    method: 'POST',
    key: svc.apiKey,
    json: { model: 'glm-tiny', training_file: file.body.id, suffix: 'secret', hyperparameters: { n_epochs: 3, batch_size: 1 }, tuning: { method: TINY_LORA, save_steps: 5 }, metadata: { owner: SECRET } },
  });
  assert.equal(job.status, 200, JSON.stringify(job.body));
  const done = await waitForJob(svc.url, svc.apiKey, job.body.id, ['succeeded']);
  await svc.worker!.stop(); // nothing changes from here on but what the probes do
  const checkpoints = (await call(`${svc.url}/v1/fine_tuning/jobs/${done.id}/checkpoints`, { key: svc.apiKey })).body.data;
  const events = (await call(`${svc.url}/v1/fine_tuning/jobs/${done.id}/events?limit=1000`, { key: svc.apiKey })).body.data;
  const artifacts = (await call(`${svc.url}/v1/models/${encodeURIComponent(done.fine_tuned_model)}/artifacts`, { key: svc.apiKey })).body.data;
  ofA.file_id = [file.body.id, ...done.result_files];
  ofA.training_file = ofA.validation_file = [file.body.id];
  ofA.fine_tuning_job_id = [done.id];
  ofA.model = ofA.teacher = [done.fine_tuned_model, checkpoints[0].fine_tuned_model_checkpoint];
  ofA.name = artifacts.map((a: { name: string }) => a.name);
  ofA.after = [file.body.id, done.id, events[0].id, checkpoints[0].id];
  const orgA = (await call(`${svc.url}/v1/admin/organizations`, { key: ADMIN_KEY })).body.data.find((o: { name: string }) => o.name === 'default');
  markers = [SECRET, SECRET_FILENAME, orgA.id, ...new Set(Object.values(ofA).flat()), ...events.map((e: { id: string }) => e.id), ...checkpoints.map((c: { id: string }) => c.id)];
});
after(async () => {
  await svc.destroy();
});

/** A's rows in every table: what B's probes must leave as they were. */
async function rowsOfA(): Promise<string> {
  const client = new pg.Client({ connectionString: svc.database!.url });
  await client.connect();
  try {
    const orgA = markers[2];
    const tables = (await client.query(`select tablename from pg_tables where schemaname = 'public' order by 1`)).rows.map((r) => r.tablename as string);
    const out: string[] = [];
    for (const t of tables) {
      const columns = (await client.query(`select column_name from information_schema.columns where table_name = $1`, [t])).rows.map((r) => r.column_name);
      const mine = columns.includes('organization_id') ? 'organization_id = $1' : columns.includes('job_id') ? 'job_id in (select id from jobs where organization_id = $1)' : t === 'organizations' ? 'id = $1' : null;
      assert.ok(mine, `table ${t}: no way to tell A's rows; teach this test`);
      out.push(`${t}:${(await client.query(`select count(*) as n, md5(string_agg(t::text, '' order by t::text)) as h from "${t}" t where ${mine}`, [orgA])).rows.map((r) => `${r.n}:${r.h}`)[0]}`);
    }
    return out.join('\n');
  } finally {
    await client.end();
  }
}

/** A body for the operation that names A's objects wherever its schema has a field for one. */
function bodyFor(doc: OpenApiDocument, schema: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!schema) return undefined;
  let s = schema;
  while (typeof s.$ref === 'string') s = doc.components.schemas[(s.$ref as string).split('/').pop()!];
  const properties = (s.properties as Record<string, { type?: string }> | undefined) ?? {};
  const required = new Set((s.required as string[] | undefined) ?? []);
  const defaults: Record<string, unknown> = { messages: [{ role: 'user', content: 'hi' }], prompt: 'hi', tokens: [5, 6], name: 'probe' };
  const body: Record<string, unknown> = {};
  for (const [name, prop] of Object.entries(properties)) {
    if (ofA[name]) body[name] = ofA[name][0];
    else if (name in defaults) body[name] = defaults[name];
    else if (required.has(name)) body[name] = { string: 'x', integer: 1, number: 1, boolean: false, array: [], object: {} }[prop.type ?? 'string'];
  }
  return body;
}

/** No trace of A in an answer to B, apart from the id B itself asked about. */
function assertNothingOfA(text: string, probed: string[], what: string): void {
  let rest = text;
  for (const id of probed) rest = rest.split(id).join('').split(encodeURIComponent(id)).join('');
  for (const marker of markers) assert.ok(!rest.includes(marker), `${what}: the answer to B holds A's ${marker}: ${text.slice(0, 300)}`);
}

test("organization B gets nothing of A's on any route: 404 for A's ids, A's objects unchanged", async () => {
  const doc = readOpenApi();
  const before = await rowsOfA();
  const probed: string[] = [];
  for (const op of operations(doc)) {
    const admin = op.path.startsWith('/v1/admin');
    const pathParams = op.parameters.filter((p) => p.in === 'path').map((p) => p.name);
    const missing = pathParams.filter((p) => !ofA[p] && !admin);
    assert.deepEqual(missing, [], `${op.operationId}: no object of A is known for path parameter(s) ${missing.join(', ')}; teach this test`);
    const body = bodyFor(doc, op.body?.mediaType === 'application/json' ? op.body.schema : undefined);
    // Every combination of A's ids for the path parameters (two models, two files, every artifact name).
    const combos = pathParams.reduce<Record<string, string>[]>((acc, p) => acc.flatMap((c) => (admin ? ['org-x'] : ofA[p]).map((id) => ({ ...c, [p]: id }))), [{}]);
    for (const params of combos) {
      const path = op.path.replace(/\{([^}]+)\}/g, (_, p: string) => encodeURIComponent(params[p]));
      const query = op.parameters.some((p) => p.in === 'query' && p.name === 'after') ? `?after=${encodeURIComponent(ofA.after[0])}` : '';
      const init = { method: op.method, key: keyB, ...(body ? { json: body } : op.body?.mediaType === 'multipart/form-data' ? { body: uploadForm(qaDataset()) } : {}) };
      const res = await call(`${svc.url}${path}${query}`, init);
      const what = `${op.method} ${op.path} as B`;
      const text = typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
      // B's own request names A's ids; an error may quote them back, nothing else of A may appear.
      const sent = [...Object.values(params), ...(query ? [ofA.after[0]] : []), ...Object.values(body ?? {}).filter((v): v is string => typeof v === 'string')];
      assertNothingOfA(text, sent, what);
      if (admin) assert.equal(res.status, 401, `${what}: the admin API takes only the admin key`);
      else if (pathParams.length > 0) assert.equal(res.status, 404, `${what}: ${text.slice(0, 300)}`);
      else if (op.method !== 'GET' && body && Object.keys(body).some((k) => ofA[k])) assert.ok(res.status >= 400 && res.status < 500, `${what}: A's ids in the body must be refused: ${res.status} ${text.slice(0, 300)}`);
      probed.push(op.operationId);
      // A's own key reaches the same objects (reads only: the probes must aim at real things).
      if (!admin && pathParams.length > 0 && op.method === 'GET' && !op.path.endsWith('/stream')) {
        const own = await call(`${svc.url}${path}`, { key: svc.apiKey });
        assert.equal(own.status, 200, `${op.method} ${op.path} as A: ${JSON.stringify(own.body).slice(0, 200)}`);
      }
    }
  }
  assert.deepEqual([...new Set(probed)].sort(), operations(doc).map((o) => o.operationId).sort(), 'every operation was probed');
  assert.equal(await rowsOfA(), before, "B's requests changed none of A's rows (nothing deleted, cancelled, merged)");
  console.log(`tenant isolation: ${probed.length} probes over ${new Set(probed).size} operations`);
});

test("guessed ids: B's lists never hold A's objects, and random ids of the right shape are 404", async () => {
  for (const path of ['/v1/files', '/v1/fine_tuning/jobs', '/v1/models']) {
    const res = await call(`${svc.url}${path}`, { key: keyB });
    assert.equal(res.status, 200);
    assertNothingOfA(JSON.stringify(res.body), [], `GET ${path} as B`);
  }
  for (const id of ['file-000000000000000000000000', 'ftjob-000000000000000000000000', 'file-' + ofA.file_id[0].slice(5).split('').reverse().join('')]) {
    const res = await call(`${svc.url}/v1/${id.startsWith('file') ? 'files' : 'fine_tuning/jobs'}/${id}`, { key: svc.apiKey });
    assert.equal(res.status, 404);
  }
});
