// Moving bytes between the bucket and a worker's local folders: datasets and checkpoints down,
// checkpoints and exports up. Object keys under a prefix mirror relative paths under a folder.
import { createReadStream, createWriteStream, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from '../storage/blob-store.ts';

export async function downloadObject(blobs: BlobStore, key: string, path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  await pipeline(await blobs.get(key), createWriteStream(path));
}

/** Every file under `dir`, as paths relative to it with forward slashes. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((rel) => statSync(join(dir, rel)).isFile())
    .map((rel) => rel.split(sep).join('/'))
    .sort();
}

/** Uploads a folder under `prefix` (which ends with '/'); returns the files and their total size. */
export async function uploadFolder(blobs: BlobStore, dir: string, prefix: string): Promise<{ files: string[]; bytes: number }> {
  const files = filesUnder(dir);
  let bytes = 0;
  for (const rel of files) {
    bytes += statSync(join(dir, rel)).size;
    await blobs.put(prefix + rel, createReadStream(join(dir, rel)));
  }
  return { files, bytes };
}

/** Downloads every object under `prefix` into `dir`; a key that would land outside `dir` is refused. */
export async function downloadPrefix(blobs: BlobStore, prefix: string, dir: string): Promise<number> {
  const root = resolve(dir);
  let count = 0;
  for await (const object of blobs.list(prefix)) {
    const target = resolve(root, object.key.slice(prefix.length));
    if (!target.startsWith(root + sep)) throw new Error(`object ${object.key} would be written outside ${root}`);
    await downloadObject(blobs, object.key, target);
    count++;
  }
  return count;
}

export async function deletePrefix(blobs: BlobStore, prefix: string): Promise<void> {
  const keys: string[] = [];
  for await (const object of blobs.list(prefix)) keys.push(object.key);
  for (const key of keys) await blobs.delete(key);
}

