// The base-model registry: glm-tiny plus model folders; a broken folder is reported and skipped.
import test from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { listBaseModels } from '../../src/model/registry.ts';
import { SafetensorsFile } from '../../src/model/weights/safetensors.ts';
import { scratchDir, TINY_CHATGLM3 } from './fixtures.ts';

test('lists glm-tiny and good folders, and reports each broken folder with its reason', async (t) => {
  const root = scratchDir(t, 'registry');
  const modelsDir = join(root, 'models');
  const folder = (name: string): string => {
    const dir = join(modelsDir, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  const copyFixture = (name: string): string => {
    const dir = folder(name);
    copyFileSync(join(TINY_CHATGLM3, 'config.json'), join(dir, 'config.json'));
    copyFileSync(join(TINY_CHATGLM3, 'model.safetensors'), join(dir, 'model.safetensors'));
    return dir;
  };
  // good: the fixture with a copy of glm-tiny's byte tokenizer declaration
  writeFileSync(join(copyFixture('tiny-chatglm3'), 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'GlmTuneByteTokenizer' }));
  // broken: no tokenizer
  copyFixture('no-tokenizer');
  // good: the ChatGLM-6B (v1) fixture, with the byte tokenizer declaration
  const v1 = folder('chatglm6b');
  cpSync(join('test', 'fixtures', 'glm1', 'tiny-chatglm6b'), v1, { recursive: true });
  writeFileSync(join(v1, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'GlmTuneByteTokenizer' }));
  // broken: weights for another shape
  const wrongShape = copyFixture('wrong-shape');
  const config = JSON.parse(readFileSync(join(wrongShape, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(wrongShape, 'config.json'), JSON.stringify({ ...config, num_layers: 3 }));
  // broken: no config at all; and a folder that claims the built-in's id
  folder('empty');
  writeFileSync(join(copyFixture('glm-tiny'), 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'GlmTuneByteTokenizer' }));

  const { models, problems } = await listBaseModels({ modelsDir, tinyDir: join(root, 'data', 'glm-tiny') });
  assert.deepEqual(models.map((m) => m.id), ['glm-tiny', 'chatglm6b', 'tiny-chatglm3']);
  const [tiny, chatglm6b, fixture] = models;
  assert.equal(tiny.builtIn, true);
  assert.equal(tiny.tokenizerKind, 'byte');
  assert.equal(tiny.contextLength, 512);
  const file = SafetensorsFile.open(join(TINY_CHATGLM3, 'model.safetensors'));
  const stored = file.names().filter((n) => !n.endsWith('inv_freq')).reduce((s, n) => s + file.info(n).shape.reduce((a, b) => a * b, 1), 0);
  assert.deepEqual(fixture, { id: 'tiny-chatglm3', architecture: 'chatglm2', parameterCount: stored, contextLength: 256, tokenizerKind: 'byte', path: join(modelsDir, 'tiny-chatglm3'), builtIn: false });
  // v1: the tied lm_head and the rotary buffers are not parameters
  const v1File = SafetensorsFile.open(join(v1, 'model.safetensors'));
  const v1Stored = v1File.names().filter((n) => !n.endsWith('inv_freq') && n !== 'lm_head.weight').reduce((s, n) => s + v1File.info(n).shape.reduce((a, b) => a * b, 1), 0);
  assert.deepEqual(chatglm6b, { id: 'chatglm6b', architecture: 'chatglm6b', parameterCount: v1Stored, contextLength: 256, tokenizerKind: 'byte', path: v1, builtIn: false });
  const reasons = Object.fromEntries(problems.map((p) => [p.id, p.reason]));
  assert.deepEqual(Object.keys(reasons).sort(), ['empty', 'glm-tiny', 'no-tokenizer', 'wrong-shape']);
  assert.match(reasons['empty'], /config.json/);
  assert.match(reasons['glm-tiny'], /built-in/);
  assert.match(reasons['no-tokenizer'], /tokenizer/);
  assert.match(reasons['wrong-shape'], /missing tensor "transformer.encoder.layers.2/);
});

test('an absent models directory lists glm-tiny alone', async (t) => {
  const root = scratchDir(t, 'registry');
  const { models, problems } = await listBaseModels({ modelsDir: join(root, 'nope'), tinyDir: join(root, 'glm-tiny') });
  assert.deepEqual(models.map((m) => m.id), ['glm-tiny']);
  assert.deepEqual(problems, []);
});
