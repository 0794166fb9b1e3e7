// Token choice on the host: penalties, temperature / top-k / top-p sampling, the seeded generator.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/model/random.ts';
import { applyPenalties, chooseToken, logSoftmax, topEntries } from '../../src/model/sampling.ts';

const logits = Float32Array.from([2.0, 1.0, 0.5, -0.5, -1.0, 0.0]);

function frequencies(draw: () => number, n: number, size: number): number[] {
  const counts = new Array<number>(size).fill(0);
  for (let i = 0; i < n; i++) counts[draw()]++;
  return counts.map((c) => c / n);
}

test('repetition penalty divides positive and multiplies negative logits of seen tokens (HF)', () => {
  const l = Float32Array.from(logits);
  applyPenalties(l, { repetitionPenalty: 2 }, [0, 4, 0], []);
  assert.deepEqual([...l], [1.0, 1.0, 0.5, -0.5, -2.0, 0.0]);
});

test('presence and frequency penalties subtract per generated token (OpenAI)', () => {
  const l = Float32Array.from(logits);
  applyPenalties(l, { presencePenalty: 0.5, frequencyPenalty: 0.25 }, [1, 1, 1], [2, 2, 3]);
  assert.deepEqual([...l], [2.0, 1.0, 0.5 - 0.5 - 0.5, -0.5 - 0.5 - 0.25, -1.0, 0.0]);
});

test('temperature sampling draws tokens with the softmax probabilities', () => {
  const rng = new Rng(42);
  const n = 40000;
  const freq = frequencies(() => chooseToken(logits, logits.length, { temperature: 0.8 }, rng), n, logits.length);
  const expected = Array.from(logSoftmax(logits.map((x) => x / 0.8)), Math.exp);
  for (let i = 0; i < logits.length; i++) assert.ok(Math.abs(freq[i] - expected[i]) < 0.01, `token ${i}: ${freq[i]} vs ${expected[i]}`);
});

test('top-k keeps the k most likely tokens, renormalised', () => {
  const rng = new Rng(7);
  const freq = frequencies(() => chooseToken(logits, logits.length, { temperature: 1, topK: 2 }, rng), 20000, logits.length);
  const p = [Math.exp(2), Math.exp(1)];
  assert.ok(Math.abs(freq[0] - p[0] / (p[0] + p[1])) < 0.015);
  assert.equal(freq[0] + freq[1], 1);
});

test('top-p keeps the smallest set of most likely tokens reaching p', () => {
  const probs = Array.from(logSoftmax(logits), Math.exp); // ≈ 0.52, 0.19, 0.12, 0.04, 0.03, 0.07
  const rng = new Rng(9);
  const freq = frequencies(() => chooseToken(logits, logits.length, { temperature: 1, topP: 0.75 }, rng), 20000, logits.length);
  // 0.52 + 0.19 < 0.75 ≤ 0.52 + 0.19 + 0.12: exactly tokens 0, 1, 2 stay
  assert.ok(probs[0] + probs[1] < 0.75 && probs[0] + probs[1] + probs[2] >= 0.75);
  assert.equal(freq[0] + freq[1] + freq[2], 1);
  assert.ok(freq[2] > 0.1);
});

test('greedy picks the first maximum among the allowed ids', () => {
  assert.equal(chooseToken(Float32Array.from([1, 3, 3, 9]), 3, {}, new Rng(1)), 1);
});

test('topEntries returns the k largest, largest first, for small and large k', () => {
  const values = Float64Array.from({ length: 200 }, (_, i) => Math.sin(i * 12.9898) * 43758.5453 % 1);
  const sorted = [...values.keys()].sort((a, b) => values[b] - values[a]);
  assert.deepEqual(topEntries(values, 5).map((e) => e.id), sorted.slice(0, 5));
  assert.deepEqual(topEntries(values, 50).map((e) => e.id), sorted.slice(0, 50));
  assert.deepEqual(topEntries(values, 0), []);
});

test('the seeded generator repeats per seed and is uniform / standard normal', () => {
  const a = new Rng(123);
  const b = new Rng(123);
  const xs = Array.from({ length: 20000 }, () => a.next());
  assert.deepEqual(Array.from({ length: 20000 }, () => b.next()), xs);
  assert.ok(Math.abs(xs.reduce((s, x) => s + x, 0) / xs.length - 0.5) < 0.01);
  const normal = new Rng(5);
  const zs = Array.from({ length: 20000 }, () => normal.normal());
  const mean = zs.reduce((s, z) => s + z, 0) / zs.length;
  const variance = zs.reduce((s, z) => s + (z - mean) ** 2, 0) / zs.length;
  assert.ok(Math.abs(mean) < 0.03 && Math.abs(variance - 1) < 0.05, `mean ${mean} variance ${variance}`);
});
