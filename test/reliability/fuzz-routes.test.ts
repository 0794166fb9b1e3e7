// Property-based fuzzing of every operation in the committed openapi/openapi.json (read at test time,
// so routes added later are covered without a change here): random and mutated bodies, query strings,
// headers, path parameters and multipart parts. Properties: never a 5xx; every 4xx in OpenAI's error
// shape; a rejected request writes nothing (rows in every table and objects in the bucket are counted
// before and after each request). FUZZ_RUNS sets the requests per operation (default 50).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import pg from 'pg';
import { call, errorOf, uploadForm } from '../helpers/http.ts';
import { qaDataset } from '../helpers/jobs.ts';
import { startTestService, type TestService } from '../helpers/service.ts';
import {
  contentTypes,
  HOSTILE_STRINGS,
  type KnownIds,
  knownId,
  multipartBody,
  mutate,
  mutations,
  type Operation,
  operations,
  parts,
  rawBodies,
  readOpenApi,
  SchemaArbitraries,
} from './helpers/openapi-requests.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 50);
const ADMIN_KEY = 'sk-glm-admin-key-of-the-fuzz-test-000000';
let svc: TestService;
let otherKey: string;
let db: pg.Client;
const known: KnownIds = {};

before(async () => {
  svc = await startTestService({ env: { RATE_LIMIT_PER_MINUTE: '10000000', GLMTUNE_ADMIN_KEY: ADMIN_KEY } });
  otherKey = await svc.newOrganization('fuzz-other');
  db = new pg.Client({ connectionString: svc.database!.url });
  await db.connect();
  await seed();
});
after(async () => {
  await db.end();
  await svc.destroy();
});

/** Objects of every kind for the fuzzer to aim at; made again when a request it sent deleted them. */
async function seed(): Promise<void> {
  const exists = async (path: string, key = svc.apiKey) => (await call(`${svc.url}${path}`, { key })).status === 200;
  const upload = async (content: string) => (await call(`${svc.url}/v1/files`, { method: 'POST', key: svc.apiKey, body: uploadForm(content) })).body.id as string;
  known.file_id = await Promise.all((known.file_id ?? []).map(async (id) => ((await exists(`/v1/files/${id}`)) ? id : '')));
  known.file_id = known.file_id.filter(Boolean);
  while (known.file_id.length < 2) known.file_id.push(await upload(known.file_id.length === 0 ? qaDataset() : 'not json\n'));
  known.training_file = known.validation_file = known.after = known.file_id;
  const job = known.fine_tuning_job_id?.[0];
  if (!job || (await call(`${svc.url}/v1/fine_tuning/jobs/${job}`, { key: svc.apiKey })).body.status !== 'validating_files') {
    const res = await call(`${svc.url}/v1/fine_tuning/jobs`, { method: 'POST', key: svc.apiKey, json: { model: 'glm-tiny', training_file: known.file_id[0], seed: Date.now() % 1000 } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    known.fine_tuning_job_id = [res.body.id];
  }
  const orgs = (await call(`${svc.url}/v1/admin/organizations`, { key: ADMIN_KEY })).body.data as { id: string; name: string }[];
  known.organization_id = [...orgs.map((o) => o.id), 'org-doesNotExist000000000000'];
  const fuzzOrg = orgs.find((o) => o.name === 'fuzz-other')!.id;
  const keys = (await call(`${svc.url}/v1/admin/organizations/${fuzzOrg}/keys`, { key: ADMIN_KEY })).body.data as { id: string; revoked_at: number | null }[];
  // Only keys made for the purpose may be revoked by a fuzzed request: the test's own keys stay usable.
  const disposable = keys.filter((k) => k.revoked_at === null && !(known.protected_key ?? []).includes(k.id));
  if (disposable.length === 0) {
    const made = await call(`${svc.url}/v1/admin/organizations/${fuzzOrg}/keys`, { method: 'POST', key: ADMIN_KEY, json: { name: 'disposable' } });
    disposable.push(made.body);
  }
  known.protected_key ??= keys.map((k) => k.id);
  known.key_id = [disposable[0].id, 'key-doesNotExist000000000000'];
  known.model = known.teacher = ['glm-tiny', 'ft:glm-tiny:default::doesNotExist'];
  known.name = ['adapter_config.json', 'adapter_model.safetensors', 'config.json', '../../../../etc/passwd', '..%2F..%2Fsecrets'];
}

/** Rows in every table and objects in the bucket: what a rejected request must leave unchanged. */
async function snapshot(): Promise<string> {
  const tables = (await db.query(`select tablename from pg_tables where schemaname = 'public' order by 1`)).rows.map((r) => r.tablename as string);
  const counts = await Promise.all(tables.map(async (t) => `${t}=${(await db.query(`select count(*) as n, md5(string_agg(t::text, '' order by t::text)) as h from "${t}" t`)).rows.map((r) => `${r.n}:${r.h}`)[0]}`));
  const objects: string[] = [];
  for await (const o of svc.services.blobs.list('')) objects.push(`${o.key}:${o.size}`);
  return [...counts, `objects=${objects.sort().join(',')}`].join('\n');
}

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

const ascii = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 });
const hostileAscii = fc.oneof(ascii, fc.constantFrom(...HOSTILE_STRINGS.filter((s) => /^[\x20-\x7e]*$/.test(s))));

/** Percent-encodes a path segment; a lone surrogate goes as U+FFFD, as a client library would send it. */
const encodePathSegment = (value: string) => encodeURIComponent(value.replace(/\p{Cs}/gu, '\ufffd'));

function requests(op: Operation, values: SchemaArbitraries): fc.Arbitrary<FuzzRequest> {
  const admin = op.path.startsWith('/v1/admin');
  const key = admin ? ADMIN_KEY : svc.apiKey;
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  const pathValues = fc.tuple(
    ...pathParams.map((p) =>
      fc.oneof(
        { weight: 4, arbitrary: (p.name in known ? knownId(known, p.name) : fc.string({ maxLength: 20 })).map(encodePathSegment) },
        { weight: 1, arbitrary: fc.oneof(fc.constantFrom(...HOSTILE_STRINGS), fc.string({ maxLength: 30 })).map(encodePathSegment) },
        { weight: 1, arbitrary: fc.constantFrom('..', '.', '%2e%2e', '..%2f..%2f', 'a/b', '%00', '%ZZ') },
      ),
    ),
  );
  const queryParams = op.parameters.filter((p) => p.in === 'query');
  const queryEntry = fc.oneof(
    ...queryParams.map((p) => fc.tuple(fc.constant(p.name), values.value(p.schema, p.name).map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))))),
    ...queryParams.map((p) => fc.tuple(fc.constant(p.name), hostileAscii)),
    fc.tuple(fc.constantFrom('metadata[a]', 'metadata[]', 'metadata[[x]]', 'limit', 'after', 'order', 'x', '__proto__', 'constructor[prototype][x]'), hostileAscii),
  );
  const query = fc.array(queryEntry, { maxLength: queryParams.length + 2 }).map((entries) => (entries.length ? `?${new URLSearchParams(entries)}` : ''));
  const authorization = fc.oneof(
    { weight: 8, arbitrary: fc.constant<string | undefined>(`Bearer ${key}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<string | undefined>(undefined, 'Bearer', 'Bearer ', `Basic ${Buffer.from('a:b').toString('base64')}`, `Bearer ${otherKey}`, `Bearer ${key}x`, `bearer ${key}`, `Bearer ${'k'.repeat(10_000)}`, key, `Bearer ${admin ? svc.apiKey : ADMIN_KEY}`),
    },
  );
  const extraHeaders = fc.record(
    { 'idempotency-key': hostileAscii, 'x-request-id': hostileAscii, accept: fc.constantFrom('application/json', 'text/event-stream', '*/*', 'image/png') },
    { requiredKeys: [] },
  );
  let body: fc.Arbitrary<{ body?: string | Uint8Array; contentType?: string }>;
  if (op.body?.mediaType === 'multipart/form-data') {
    body = fc.oneof(
      fc.tuple(parts, fc.constantFrom('none' as const, 'none' as const, 'no-end' as const, 'wrong-boundary' as const, 'no-disposition' as const)).map(([list, breakage]) => multipartBody(list, breakage)),
      fc.record({ body: rawBodies, contentType: contentTypes }),
    );
  } else if (op.body) {
    const json = fc.tuple(values.value(op.body.schema), mutations).map(([value, changes]) => JSON.stringify(mutate(value, changes)) ?? '');
    body = fc.record({
      body: fc.oneof({ weight: 4, arbitrary: json }, { weight: 1, arbitrary: rawBodies }),
      contentType: fc.oneof({ weight: 5, arbitrary: fc.constant('application/json') }, { weight: 1, arbitrary: contentTypes }),
    });
  } else {
    body = fc.oneof({ weight: 5, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: fc.record({ body: rawBodies, contentType: contentTypes }) });
  }
  const method = fc.oneof({ weight: 12, arbitrary: fc.constant(op.method) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS') });
  return fc.tuple(method, pathValues, query, authorization, extraHeaders, body).map(([m, params, q, auth, extra, b]) => {
    let i = 0;
    const path = op.path.replace(/\{[^}]+\}/g, () => params[i++]) + q;
    const headers: Record<string, string> = { ...extra };
    if (auth !== undefined) headers.authorization = auth;
    if (b.contentType) headers['content-type'] = b.contentType;
    return { method: m, path, headers, body: m === 'GET' || m === 'OPTIONS' ? undefined : b.body };
  });
}

/** Sends the request; a stream is read only up to its first chunk (an event stream may last as long as its job). */
async function send(request: FuzzRequest): Promise<{ status: number; text: string; contentType: string }> {
  const res = await fetch(`${svc.url}${request.path}`, { method: request.method, headers: request.headers, body: request.body, signal: AbortSignal.timeout(30_000) });
  const contentType = res.headers.get('content-type') ?? '';
  if (contentType.includes('text/event-stream')) {
    const reader = res.body!.getReader();
    const first = await reader.read();
    await reader.cancel();
    return { status: res.status, text: new TextDecoder().decode(first.value), contentType };
  }
  return { status: res.status, text: await res.text(), contentType };
}

function describe(request: FuzzRequest): string {
  const body = request.body === undefined ? '' : typeof request.body === 'string' ? request.body.slice(0, 400) : JSON.stringify(Buffer.from(request.body.subarray(0, 400)).toString('latin1'));
  return `${request.method} ${request.path.slice(0, 300)}\nheaders: ${JSON.stringify(request.headers).slice(0, 400)}\nbody: ${body}`;
}

test('every route of the OpenAPI document: no 5xx, the error shape on every 4xx, nothing written by a rejected request', async () => {
  const doc = readOpenApi();
  const ops = operations(doc);
  assert.ok(ops.length >= 30, `the document lists ${ops.length} operations`);
  const values = new SchemaArbitraries(doc, known);
  const statuses = new Map<string, number>();
  let sent = 0;
  let baseline = await snapshot();
  const started = Date.now();
  for (const op of ops) {
    const outcome = await fc.check(
      fc.asyncProperty(requests(op, values), async (request) => {
        const res = await send(request).catch((err: Error) => {
          throw new Error(`${err.message} (${(err.cause as Error | undefined)?.message}): ${describe(request)}`);
        });
        sent++;
        const bucket = `${op.operationId} ${res.status}`;
        statuses.set(bucket, (statuses.get(bucket) ?? 0) + 1);
        assert.ok(res.status < 500, `${res.status} for ${describe(request)}\nanswer: ${res.text.slice(0, 500)}`);
        if (res.status >= 400) {
          let body: unknown;
          assert.doesNotThrow(() => (body = JSON.parse(res.text)), `a ${res.status} that is not JSON for ${describe(request)}: ${res.text.slice(0, 200)}`);
          errorOf({ status: res.status, body, headers: new Headers() });
          const now = await snapshot();
          assert.equal(now, baseline, `a rejected request (${res.status}) changed rows or objects: ${describe(request)}`);
        } else {
          await seed(); // a request that succeeded may have deleted what later ones aim at
          baseline = await snapshot();
        }
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    if (outcome.failed) throw new Error(`${op.operationId}: ${(outcome.errorInstance as Error)?.message ?? outcome.errorInstance}\n(fast-check seed ${outcome.seed})`);
  }
  const summary = [...statuses.entries()].sort().map(([k, n]) => `${k}: ${n}`);
  console.log(`fuzz: ${sent} requests over ${ops.length} operations in ${Math.round((Date.now() - started) / 1000)} s\n${summary.join('\n')}`);
  assert.equal(sent, ops.length * RUNS);
});
