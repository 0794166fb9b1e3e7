// The streamed tar writer against the system's tar: names up to ustar's 255 bytes (prefix + name),
// empty and block-sized files, the size announced beforehand; a member that lies about its size fails.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import test from 'node:test';
import { tarSize, tarStream, type TarMember } from '../../src/services/tar.ts';

const member = (name: string, content: Buffer, size = content.length): TarMember => ({ name, size, modified: new Date(1_700_000_000_000), open: async () => Readable.from([content]) });

test('tar extracts what was streamed, byte for byte', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'glmtune-tar-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const long = `model/${'d'.repeat(120)}/${'f'.repeat(80)}.safetensors`;
  const members = [
    member('model/adapter_config.json', Buffer.from('{"r": 8}')),
    member('model/empty.bin', Buffer.alloc(0)),
    member('model/block.bin', Buffer.alloc(512, 7)),
    member(long, Buffer.from(Array.from({ length: 1500 }, (_, i) => i % 251))),
    member('model/名前.txt', Buffer.from('unicode name')),
  ];
  const archive = await buffer(tarStream(members));
  assert.equal(archive.length, tarSize(members));
  writeFileSync(join(dir, 'a.tar'), archive);
  execFileSync('tar', ['-xf', 'a.tar'], { cwd: dir });
  for (const m of members) assert.deepEqual(readFileSync(join(dir, m.name)), await buffer(await m.open()), m.name);
  assert.deepEqual(execFileSync('tar', ['-tf', 'a.tar'], { cwd: dir, encoding: 'utf8' }).trim().split('\n'), members.map((m) => m.name));
});

test('a member shorter or longer than its listed size fails the stream; an over-long name is refused', async () => {
  await assert.rejects(buffer(tarStream([member('x', Buffer.from('abc'), 5)])), /ended after 3 of its 5 bytes/);
  await assert.rejects(buffer(tarStream([member('x', Buffer.from('abcdef'), 5)])), /longer than its listed 5 bytes/);
  await assert.rejects(buffer(tarStream([member('n'.repeat(300), Buffer.from(''))])), /name too long/);
});
