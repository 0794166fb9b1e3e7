// safetensors reading and writing, sharded checkpoints, and the errors a bad checkpoint raises.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, copyFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { initCompute } from '../../src/compute/backend.ts';
import { readModelConfig } from '../../src/model/config.ts';
import { ModelFormatError } from '../../src/model/errors.ts';
import { GlmModel } from '../../src/model/glm.ts';
import { loadModel } from '../../src/model/load.ts';
import { f32ToBf16, bf16ToF32, f16ToF32, f32ToF16 } from '../../src/model/weights/dtypes.ts';
import { fileWeights, memoryWeights, openWeights, writeWeights, INDEX_FILE, type WeightSource } from '../../src/model/weights/checkpoint.ts';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../src/model/weights/safetensors.ts';
import { maxAbsDiff, reference, scratchDir, take, TINY_CHATGLM3 } from './fixtures.ts';

await initCompute();
const F32_FILE = join(TINY_CHATGLM3, 'model.safetensors');
const GLM1_DIR = join('test', 'fixtures', 'glm1', 'tiny-chatglm6b');

const toWrite = (source: WeightSource): TensorToWrite[] => source.names().map((name) => ({ name, shape: source.shape(name), data: () => source.read(name) }));

test('the writer lays a file out byte for byte as torch/safetensors did (F32, BF16 and F16)', (t) => {
  const dir = scratchDir(t, 'weights');
  const cases: [string, string, 'F32' | 'BF16' | 'F16'][] = [
    [F32_FILE, F32_FILE, 'F32'],
    [F32_FILE, join(TINY_CHATGLM3, 'model.bf16.safetensors'), 'BF16'],
    [join(GLM1_DIR, 'model.safetensors'), join(GLM1_DIR, 'model.f16.safetensors'), 'F16'],
  ];
  for (const [from, expected, dtype] of cases) {
    const out = join(dir, `${dtype}.safetensors`);
    writeSafetensors(out, toWrite(fileWeights(from)), { dtype });
    assert.ok(readFileSync(out).equals(readFileSync(expected)), `${dtype} differs from ${expected}`);
  }
  assert.deepEqual(readdirSync(dir).sort(), ['BF16.safetensors', 'F16.safetensors', 'F32.safetensors']); // no temporary left behind
});

test('BF16 and F16 tensors widen to the float32 values their bits encode', () => {
  const f32 = SafetensorsFile.open(F32_FILE);
  const bf16 = SafetensorsFile.open(join(TINY_CHATGLM3, 'model.bf16.safetensors'));
  for (const name of f32.names()) {
    assert.equal(bf16.info(name).dtype, 'BF16');
    assert.deepEqual(bf16.read(name), bf16ToF32(f32ToBf16(f32.read(name))), name);
  }
  const glm1 = SafetensorsFile.open(join(GLM1_DIR, 'model.safetensors'));
  const glm1Half = SafetensorsFile.open(join(GLM1_DIR, 'model.f16.safetensors'));
  for (const name of glm1.names()) assert.deepEqual(glm1Half.read(name), f16ToF32(f32ToF16(glm1.read(name))), name);
});

test('half-precision conversion rounds to nearest even and keeps specials', () => {
  const values = Float32Array.from([0, -0, 1, -2.5, 65504, 70000, 1e-8, 2 ** -24, 3 * 2 ** -26, Infinity, NaN, 1 + 2 ** -11, 1 + 3 * 2 ** -11]);
  const half = f16ToF32(f32ToF16(values));
  assert.deepEqual([...half.slice(0, 5)], [0, -0, 1, -2.5, 65504]);
  assert.equal(half[5], Infinity);
  assert.equal(half[6], 0);
  assert.equal(half[7], 2 ** -24);
  assert.equal(half[8], 2 ** -24 * 1); // 0.75 units rounds to 1 unit
  assert.equal(half[9], Infinity);
  assert.ok(Number.isNaN(half[10]));
  assert.equal(half[11], 1); // tie to even
  assert.equal(half[12], 1 + 2 ** -9);
  const brain = bf16ToF32(f32ToBf16(Float32Array.from([1 + 2 ** -8, 1 + 3 * 2 ** -8, NaN])));
  assert.equal(brain[0], 1);
  assert.equal(brain[1], 1 + 2 ** -6);
  assert.ok(Number.isNaN(brain[2]));
});

test('a sharded copy (index + shards) loads and gives the reference logits', (t) => {
  const dir = scratchDir(t, 'weights');
  copyFileSync(join(TINY_CHATGLM3, 'config.json'), join(dir, 'config.json'));
  writeWeights(dir, toWrite(fileWeights(F32_FILE)), { maxShardBytes: 100_000 });
  const index = JSON.parse(readFileSync(join(dir, INDEX_FILE), 'utf8')) as { weight_map: Record<string, string>; metadata: { total_size: number } };
  const shards = new Set(Object.values(index.weight_map));
  assert.ok(shards.size >= 4, `${shards.size} shards`);
  assert.ok([...shards].every((s) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(s)));
  assert.equal(index.metadata.total_size, 430336 + 16);
  const source = openWeights(dir);
  assert.deepEqual(source.names().sort(), SafetensorsFile.open(F32_FILE).names().sort());
  const model = loadModel(dir);
  const f = reference.forward[2];
  const diff = maxAbsDiff(take(model.forward(f.input_ids).logits), f.logits);
  model.dispose();
  assert.ok(diff < 1e-4, `max |Δlogit| ${diff}`);
});

test('a missing, unexpected or misshapen tensor is an error that names it; inv_freq is ignored', () => {
  const config = readModelConfig(TINY_CHATGLM3);
  const base = toWrite(fileWeights(F32_FILE));
  assert.ok(base.some((t) => t.name === 'transformer.rotary_pos_emb.inv_freq')); // accepted: the fixture loads
  const missing = base.filter((t) => t.name !== 'transformer.encoder.layers.1.mlp.dense_4h_to_h.weight');
  assert.throws(() => GlmModel.fromWeights(config, memoryWeights('m', missing)), (e: Error) => e instanceof ModelFormatError && e.message.includes('missing tensor "transformer.encoder.layers.1.mlp.dense_4h_to_h.weight"'));
  const extra = [...base, { name: 'transformer.encoder.layers.2.input_layernorm.weight', shape: [64], data: () => new Float32Array(64) }];
  assert.throws(() => GlmModel.fromWeights(config, memoryWeights('m', extra)), /unexpected tensor "transformer.encoder.layers.2.input_layernorm.weight"/);
  const misshapen = base.map((t) => (t.name === 'transformer.output_layer.weight' ? { ...t, shape: [64, 128] } : t));
  assert.throws(() => GlmModel.fromWeights(config, memoryWeights('m', misshapen)), /"transformer.output_layer.weight" has shape \[64,128\], expected \[128,64\]/);
});

test('malformed files are errors that say what is wrong', (t) => {
  const dir = scratchDir(t, 'weights');
  const bytes = readFileSync(F32_FILE);
  const truncated = join(dir, 'truncated.safetensors');
  writeFileSync(truncated, bytes.subarray(0, bytes.length - 100));
  assert.throws(() => SafetensorsFile.open(truncated), /data_offsets .* do not match/);
  const header = (h: object): Buffer => {
    const json = Buffer.from(JSON.stringify(h));
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([length, json, Buffer.alloc(16)]);
  };
  const int8 = join(dir, 'int8.safetensors');
  writeFileSync(int8, header({ 'a.weight': { dtype: 'I8', shape: [4], data_offsets: [0, 4] } }));
  assert.throws(() => SafetensorsFile.open(int8), /tensor "a.weight" has dtype I8/);
  const garbage = join(dir, 'garbage.safetensors');
  writeFileSync(garbage, Buffer.from('not a safetensors file at all'));
  assert.throws(() => SafetensorsFile.open(garbage), ModelFormatError);
  assert.throws(() => openWeights(dir), /no model.safetensors or model.safetensors.index.json/);
});
