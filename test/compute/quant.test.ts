// Storage formats of quantized weights: NF4 against the bitsandbytes-derived fixture, int8 rows, double
// quantisation of absmax, plane-major packing.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ABSMAX_DQ_BLOCK_SIZE, DYNAMIC_MAP, decodeAbsmax, quantizeAbsmax } from '../../src/compute/quant/absmax-dq.ts';
import { decodeInt8Rows, quantizeInt8Rows } from '../../src/compute/quant/int8.ts';
import { decodeNF4, fromBitsandbytesBytes, NF4_BLOCK_SIZE, NF4_CODEBOOK, quantizeNF4, toBitsandbytesBytes } from '../../src/compute/quant/nf4.ts';
import { packBytes, packNibbles, unpackBytes, unpackNibbles } from '../../src/compute/quant/planes.ts';
import { randomValues } from './reference.ts';

interface NF4Fixture {
  codebook: number[];
  blocksize: number;
  input: number[];
  codes: number[];
  absmax: number[];
  packed_uint8: number[];
  dequantized: number[];
}
const fixture = (JSON.parse(readFileSync('test/fixtures/glm/reference.json', 'utf8')) as { nf4: NF4Fixture }).nf4;
const f32 = (xs: number[]): number[] => xs.map(Math.fround);

test('NF4 codebook and block size are bitsandbytes\' (fixture)', () => {
  assert.deepEqual(Array.from(NF4_CODEBOOK), f32(fixture.codebook));
  assert.equal(NF4_BLOCK_SIZE, fixture.blocksize);
});

test('NF4 quantisation reproduces the fixture: codes, absmax, bitsandbytes bytes, dequantized values', () => {
  const { codes, absmax } = quantizeNF4(Float32Array.from(fixture.input));
  assert.deepEqual(Array.from(codes), fixture.codes);
  assert.deepEqual(Array.from(absmax), f32(fixture.absmax));
  assert.deepEqual(Array.from(toBitsandbytesBytes(codes)), fixture.packed_uint8);
  assert.deepEqual(Array.from(fromBitsandbytesBytes(Uint8Array.from(fixture.packed_uint8), codes.length)), fixture.codes);
  const out = new Float32Array(codes.length);
  decodeNF4(packNibbles(codes), absmax, out, NF4_BLOCK_SIZE);
  assert.deepEqual(Array.from(out), f32(fixture.dequantized)); // exact: codebook · absmax in float32
});

test('NF4 of an all-zero block decodes to zeros; an odd tail block is kept', () => {
  const values = new Float32Array(64 + 13);
  values.set(randomValues(13, 5), 64);
  const { codes, absmax } = quantizeNF4(values);
  assert.equal(absmax.length, 2);
  assert.equal(absmax[0], 0);
  const out = new Float32Array(values.length);
  decodeNF4(packNibbles(codes), absmax, out, NF4_BLOCK_SIZE);
  assert.deepEqual(Array.from(out.subarray(0, 64)), new Array(64).fill(0));
  for (let i = 64; i < values.length; i++) assert.ok(Math.abs(out[i] - values[i]) <= absmax[1] * 0.17, `element ${i}`);
});

test('plane-major packing: code j of word w is element j·words + w, round trip for any length', () => {
  const codes = Uint8Array.from({ length: 19 }, (_, i) => (i * 7) % 16);
  const packed = packNibbles(codes); // 3 words
  assert.equal(packed.length, 3);
  for (let e = 0; e < codes.length; e++) {
    const plane = Math.floor(e / 3), word = e % 3;
    assert.equal((packed[word] >>> (4 * plane)) & 15, codes[e]);
  }
  assert.deepEqual(unpackNibbles(packed, 19), codes);
  const bytes = Uint8Array.from({ length: 11 }, (_, i) => (i * 37) & 255);
  assert.deepEqual(unpackBytes(packBytes(bytes), 11), bytes);
});

test('int8 rows: codes within ±127, error at most half a step of the row scale', () => {
  const cols = 10, values = randomValues(7 * cols + 4, 9); // a short last row too
  const { codes, scales } = quantizeInt8Rows(values, cols);
  assert.equal(scales.length, 8);
  const out = new Float32Array(values.length);
  decodeInt8Rows(packBytes(codes), scales, out, cols);
  for (let e = 0; e < values.length; e++) {
    const scale = scales[Math.floor(e / cols)];
    assert.ok(Math.abs(codes[e]) <= 127);
    assert.ok(Math.abs(out[e] - values[e]) <= scale * 0.5 + 1e-7, `element ${e}: ${out[e]} vs ${values[e]}`);
    assert.equal(out[e], Math.fround(codes[e] * scale));
  }
  // the largest magnitude of each row decodes to itself (to float32 rounding of scale · 127)
  const rowMax = Math.max(...Array.from(values.subarray(0, cols), Math.abs));
  assert.ok(Math.abs(Math.max(...Array.from(out.subarray(0, cols), Math.abs)) - rowMax) < 1e-6);
});

test('dynamic map of double quantisation: 256 ascending values with 0 and 1, as bitsandbytes builds it', () => {
  assert.equal(DYNAMIC_MAP.length, 256);
  for (let i = 1; i < 256; i++) assert.ok(DYNAMIC_MAP[i] > DYNAMIC_MAP[i - 1]);
  assert.ok(DYNAMIC_MAP.includes(0) && DYNAMIC_MAP.includes(1));
  assert.equal(DYNAMIC_MAP.filter((v) => v < 0).length, 127);
  // the finest step is at 1e-6 scale: (0.1 + 0.55) / 2 · 1e-6 from 0.1..1 halves
  assert.equal(DYNAMIC_MAP[128], Math.fround(0.55e-6));
});

test('double-quantized absmax decodes within 1% of its range and shrinks NF4 to ≈4.13 bits per weight', () => {
  const blocks = 3 * ABSMAX_DQ_BLOCK_SIZE + 17;
  const absmax = Float32Array.from(randomValues(blocks, 11), (v) => 2.5 + Math.abs(v));
  const q = quantizeAbsmax(absmax);
  const out = new Float32Array(blocks);
  decodeAbsmax(packBytes(q.codes), q.scales, q.offset, out);
  for (let i = 0; i < blocks; i++) {
    const scale = q.scales[Math.floor(i / ABSMAX_DQ_BLOCK_SIZE)];
    assert.ok(Math.abs(out[i] - absmax[i]) <= 0.01 * scale, `block ${i}: ${out[i]} vs ${absmax[i]}`);
  }
  const weights = blocks * 64;
  const bits = (8 * (packNibbles(new Uint8Array(weights)).length * 4 + packBytes(q.codes).length * 4 + q.scales.length * 4 + 4)) / weights;
  assert.ok(bits > 4.12 && bits < 4.14, `bits per weight ${bits}`);
});
