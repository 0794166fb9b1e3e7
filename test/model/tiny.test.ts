// The built-in glm-tiny: a deterministic folder written atomically, loadable, of the agreed shape.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { initCompute } from '../../src/compute/backend.ts';
import { parameterCount, readModelConfig } from '../../src/model/config.ts';
import { loadModel } from '../../src/model/load.ts';
import { loadTokenizer } from '../../src/model/tokenizers/load.ts';
import { ensureTinyModel } from '../../src/model/tiny.ts';
import { scratchDir, take } from './fixtures.ts';

await initCompute();

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

test('glm-tiny is the same, byte for byte, every time it is created', (t) => {
  const dir = scratchDir(t, 'tiny');
  const a = ensureTinyModel(join(dir, 'a', 'glm-tiny'));
  const b = ensureTinyModel(join(dir, 'b', 'glm-tiny'));
  for (const file of ['config.json', 'model.safetensors', 'tokenizer_config.json']) assert.equal(sha256(join(a, file)), sha256(join(b, file)), file);
  assert.deepEqual(readdirSync(a).sort(), ['config.json', 'model.safetensors', 'tokenizer_config.json']);
  assert.equal(ensureTinyModel(a), a); // a second call keeps what is there
});

test('glm-tiny has the agreed shape and loads with the byte tokenizer', async (t) => {
  const dir = ensureTinyModel(join(scratchDir(t, 'tiny'), 'glm-tiny'));
  const config = readModelConfig(dir);
  const count = parameterCount(config);
  assert.ok(count > 500_000 && count < 2_000_000, `${count} parameters`);
  const tokenizer = await loadTokenizer(dir);
  assert.equal(tokenizer.kind, 'byte');
  assert.ok(tokenizer.vocabSize <= config.paddedVocabSize);
  assert.ok(config.eosTokenIds.includes(tokenizer.eosId));
  const model = loadModel(dir);
  const ids = tokenizer.encode('你好, glm-tiny');
  const logits = take<number[][][]>(model.forward([ids]).logits);
  model.dispose();
  assert.deepEqual([logits.length, logits[0].length, logits[0][0].length], [1, ids.length, 272]);
  // random init, output layer N(0, 0.1): logits of std ≈ 0.1·√128 ≈ 1.1, so no token is near certain
  const row = logits[0][ids.length - 1];
  assert.ok(row.every(Number.isFinite) && Math.max(...row.map(Math.abs)) < 6);
});

test('two processes creating glm-tiny at once both end with one complete folder', async (t) => {
  const dir = join(scratchDir(t, 'tiny'), 'glm-tiny');
  const script = `import { ensureTinyModel } from './src/model/tiny.ts'; ensureTinyModel(${JSON.stringify(dir)});`;
  const run = () =>
    new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'inherit' });
      child.on('exit', (code) => resolve(code ?? 1));
    });
  assert.deepEqual(await Promise.all([run(), run()]), [0, 0]);
  assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'model.safetensors', 'tokenizer_config.json']);
  assert.deepEqual(readdirSync(join(dir, '..')), ['glm-tiny']); // no temporary folder left behind
  assert.ok(loadModel(dir));
});
