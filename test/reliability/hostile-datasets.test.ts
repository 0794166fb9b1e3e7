// Hostile datasets through the upload API of a service process (on Postgres and an S3 server): a line
// of 50 MB, JSON nested a million deep, invalid UTF-8, NUL bytes, an empty file, and a valid file of
// ten million tiny lines. Each gets a clear answer (stored and processed, or stored with line-numbered
// errors) in bounded time, the service's memory stays flat while hundreds of megabytes stream through,
// and what is stored is byte for byte what was sent.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type EmbeddedS3, startEmbeddedS3 } from '../../src/storage/embedded-s3.ts';
import { call, chatLine } from '../helpers/http.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';
import { startServiceProcess, type ServiceProcess } from '../helpers/process.ts';

const KEY = 'sk-glm-hostile-datasets-key-0000000000';
let db: TestDatabase;
let s3: EmbeddedS3;
let service: ServiceProcess;
const dirs: string[] = [];

before(async () => {
  db = await createTestDatabase();
  const s3Dir = mkdtempSync(join(tmpdir(), 'glmtune-s3-'));
  const dataDir = mkdtempSync(join(tmpdir(), 'glmtune-proc-'));
  dirs.push(s3Dir, dataDir);
  s3 = await startEmbeddedS3(s3Dir);
  service = await startServiceProcess({
    ROLE: 'api',
    DATA_DIR: dataDir,
    DATABASE_URL: db.url,
    S3_ENDPOINT: s3.endpoint,
    S3_BUCKET: 'glmtune-hostile',
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    GLMTUNE_API_KEY: KEY,
    LOG_LEVEL: 'warn',
  });
});
after(async () => {
  await service.stop();
  await s3.close();
  await db.drop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The service process's resident memory now, in bytes. */
function rss(): number {
  const status = readFileSync(`/proc/${service.child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

interface Uploaded {
  file: { id: string; status: string; bytes: number; sha256: string; examples: number | null; validation: { error_count: number; errors: { line: number | null; message: string }[] } };
  sha256: string;
  bytes: number;
  seconds: number;
  peakGrowth: number;
}

/**
 * Streams `chunks` as the file of a multipart upload (generated as it is sent, never whole in memory),
 * sampling the service's memory meanwhile.
 */
async function upload(chunks: () => Iterable<Uint8Array>): Promise<Uploaded> {
  const boundary = 'hostileBoundary42';
  const hash = createHash('sha256');
  let bytes = 0;
  const encoder = new TextEncoder();
  const source = chunks()[Symbol.iterator]();
  let stage: 'head' | 'file' | 'done' = 'head';
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (stage === 'head') {
        controller.enqueue(encoder.encode(`--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nfine-tune\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="hostile.jsonl"\r\n\r\n`));
        stage = 'file';
        return;
      }
      if (stage === 'done') return controller.close();
      const next = source.next();
      if (next.done) {
        controller.enqueue(encoder.encode(`\r\n--${boundary}--\r\n`));
        stage = 'done';
        return;
      }
      hash.update(next.value);
      bytes += next.value.length;
      controller.enqueue(next.value);
    },
  });
  const baseline = rss();
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rss())), 50);
  const started = Date.now();
  try {
    const res = await fetch(`${service.url}/v1/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body,
      duplex: 'half',
    } as RequestInit);
    const file = (await res.json()) as Uploaded['file'];
    assert.equal(res.status, 200, JSON.stringify(file));
    return { file, sha256: hash.digest('hex'), bytes, seconds: (Date.now() - started) / 1000, peakGrowth: Math.max(peak, rss()) - baseline };
  } finally {
    clearInterval(sampler);
  }
}

const text = (s: string) => new TextEncoder().encode(s);
const good = chatLine('hello', 'hi there');

/** Asserts the stored object is byte for byte what was sent. */
async function storedExactly(up: Uploaded): Promise<void> {
  assert.equal(up.file.bytes, up.bytes);
  assert.equal(up.file.sha256, up.sha256);
  const res = await fetch(`${service.url}/v1/files/${up.file.id}/content`, { headers: { authorization: `Bearer ${KEY}` } });
  assert.equal(createHash('sha256').update(Buffer.from(await res.arrayBuffer())).digest('hex'), up.sha256, 'the download is what was uploaded');
}

test('a 50 MB line: stored, marked error at its line, in bounded memory', async () => {
  const up = await upload(function* () {
    yield text(`${good}\n{"messages":[{"role":"user","content":"`);
    const block = text('x'.repeat(1 << 20));
    for (let i = 0; i < 50; i++) yield block;
    yield text(`"}]}\n${good}\n`);
  });
  assert.equal(up.file.status, 'error');
  assert.equal(up.file.validation.error_count, 1);
  assert.equal(up.file.validation.errors[0].line, 2);
  assert.match(up.file.validation.errors[0].message, /^line 2: longer than the limit of \d+ bytes/);
  assert.ok(up.peakGrowth < 150 * 2 ** 20, `memory grew by ${Math.round(up.peakGrowth / 2 ** 20)} MiB`);
  await storedExactly(up);
});

test('JSON nested a million levels deep: refused at its line without recursion', async () => {
  const up = await upload(function* () {
    yield text(`{"messages":${'['.repeat(500_000)}${']'.repeat(500_000)}}\n`);
    yield text(`${good}\n`);
  });
  assert.equal(up.file.status, 'error');
  assert.equal(up.file.validation.errors[0].line, 1);
  assert.match(up.file.validation.errors[0].message, /^line 1: .*(deep|nest)/i);
  await storedExactly(up);
});

test('invalid UTF-8 and NUL bytes: each reported at its line; an escaped \\u0000 in text is data', async () => {
  const up = await upload(function* () {
    yield text(`${good}\n`);
    yield new Uint8Array([...text('{"messages":[{"role":"user","content":"'), 0xff, 0xfe, ...text('"},{"role":"assistant","content":"a"}]}\n')]);
    yield new Uint8Array([...text('{"messages":[{"role":"user","content":"a'), 0x00, ...text('b"},{"role":"assistant","content":"a"}]}\n')]);
    yield text(`${chatLine('nul \u0000 inside', 'fine')}\n`);
  });
  assert.equal(up.file.status, 'error');
  const lines = up.file.validation.errors.map((e) => e.line);
  assert.deepEqual(lines, [2, 3], JSON.stringify(up.file.validation.errors));
  assert.match(up.file.validation.errors[0].message, /UTF-8/);
  await storedExactly(up);
});

test('a 0-byte file: stored, an error without a line number', async () => {
  const up = await upload(function* () {});
  assert.equal(up.file.status, 'error');
  assert.equal(up.file.bytes, 0);
  assert.equal(up.file.validation.errors[0].line, null);
  await storedExactly(up);
});

test('ten million tiny valid lines (~300 MB): processed with every example counted, in bounded time and memory', async () => {
  const line = '{"content":"a","summary":"b"}\n'; // adgen, the shortest format
  const lines = 10_000_000;
  const perChunk = 20_000;
  const chunk = text(line.repeat(perChunk));
  const up = await upload(function* () {
    for (let i = 0; i < lines / perChunk; i++) yield chunk;
  });
  assert.equal(up.file.status, 'processed', JSON.stringify(up.file.validation));
  assert.equal(up.file.examples, lines);
  assert.equal(up.file.bytes, line.length * lines);
  assert.equal(up.file.sha256, up.sha256);
  assert.ok(up.seconds < 300, `took ${up.seconds} s`);
  assert.ok(up.peakGrowth < 200 * 2 ** 20, `memory grew by ${Math.round(up.peakGrowth / 2 ** 20)} MiB while ${Math.round(up.bytes / 2 ** 20)} MiB streamed through`);
  console.log(`10M lines: ${Math.round(up.bytes / 2 ** 20)} MiB in ${up.seconds.toFixed(1)} s, service memory +${Math.round(up.peakGrowth / 2 ** 20)} MiB`);
  const listed = await call(`${service.url}/v1/files/${up.file.id}`, { key: KEY });
  assert.equal(listed.body.examples, lines);
});
