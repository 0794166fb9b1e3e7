// ChatGLM-6B (v1) checkpoints as THUDM ships them: a folder with only `pytorch_model-*.bin` shards and
// their index loads, lists in the registry, and computes exactly what the same float16 weights in
// safetensors compute.
import test from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initCompute } from '../../src/compute/backend.ts';
import { ChatGlm6bModel } from '../../src/model/chatglm6b/model.ts';
import { readModelConfig } from '../../src/model/config.ts';
import { loadModel } from '../../src/model/load.ts';
import { describeModel } from '../../src/model/registry.ts';
import { fileWeights, openWeights } from '../../src/model/weights/checkpoint.ts';
import { glm1, TINY_CHATGLM6B } from './chatglm6b-fixtures.ts';
import { maxAbsDiff, scratchDir, take } from './fixtures.ts';

await initCompute();

/** A folder as THUDM/chatglm-6b is laid out: config.json and the .bin shards with their index, no safetensors. */
function binFolder(t: { after: (fn: () => void) => void }): string {
  const dir = scratchDir(t, 'chatglm6b-bin');
  for (const name of readdirSync(TINY_CHATGLM6B)) {
    if (name === 'config.json' || name.startsWith('pytorch_model')) copyFileSync(join(TINY_CHATGLM6B, name), join(dir, name));
  }
  return dir;
}

test('.bin shards and the f16 safetensors give identical logits, equal to the f16 reference', (t) => {
  const dir = binFolder(t);
  assert.match(openWeights(dir).location, /pytorch_model\.bin\.index\.json$/);
  const fromBin = loadModel(dir);
  const fromSafetensors = ChatGlm6bModel.fromWeights(readModelConfig(TINY_CHATGLM6B), fileWeights(join(TINY_CHATGLM6B, 'model.f16.safetensors')));
  const ids = glm1.forward_f16_weights.input_ids;
  const binLogits = take<number[][][]>(fromBin.forward(ids).logits);
  assert.equal(maxAbsDiff(binLogits, take(fromSafetensors.forward(ids).logits)), 0);
  const diff = maxAbsDiff(binLogits, glm1.forward_f16_weights.logits);
  assert.ok(diff < 1e-4, `max |Δlogit| ${diff}`);
  fromBin.dispose();
  fromSafetensors.dispose();
});

test('the registry lists a .bin-only v1 folder', async (t) => {
  const dir = binFolder(t);
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'GlmTuneByteTokenizer' }));
  const entry = await describeModel('chatglm-6b', dir);
  assert.equal(entry.architecture, 'chatglm6b');
  assert.equal(entry.contextLength, 256);
});

test('a folder with neither safetensors nor .bin weights names both', (t) => {
  const dir = scratchDir(t, 'chatglm6b-empty');
  copyFileSync(join(TINY_CHATGLM6B, 'config.json'), join(dir, 'config.json'));
  assert.throws(() => loadModel(dir), /no model.safetensors or model.safetensors.index.json \(nor pytorch_model.bin or pytorch_model.bin.index.json\)/);
});
