// Generation: greedy against the reference (with the cache and by recomputation), padded-batch
// decoding with a cache, seeded sampling, stop ids and strings, logprobs, streaming, cancellation.
import test from 'node:test';
import assert from 'node:assert/strict';
import { initCompute } from '../../src/compute/backend.ts';
import { generate, generateTokens } from '../../src/model/generate.ts';
import { GlmModel } from '../../src/model/glm.ts';
import { loadModel } from '../../src/model/load.ts';
import { openWeights } from '../../src/model/weights/checkpoint.ts';
import { logSoftmax } from '../../src/model/sampling.ts';
import { maxAbsDiff, reference, take, TINY_CHATGLM3 } from './fixtures.ts';

await initCompute();
const model = loadModel(TINY_CHATGLM3);
const ref = reference.generation;
// A stand-in decode for stop strings: one letter per id, so text positions are token positions.
const letters = (ids: readonly number[]): string => ids.map((id) => String.fromCharCode(65 + (id % 26))).join('');

test('greedy decoding with the KV cache reproduces the reference tokens and step logits', async () => {
  const result = await generate(model, ref.prompt, { maxNewTokens: ref.max_new_tokens, stopIds: [] });
  assert.deepEqual(result.tokens.map((t) => t.id), ref.tokens);
  assert.equal(result.finishReason, 'length');
  result.tokens.forEach((t, k) => {
    const expected = logSoftmax(ref.step_logits[k])[t.id];
    assert.ok(Math.abs(t.logprob - expected) < 1e-4, `step ${k}: logprob ${t.logprob} vs ${expected}`);
  });
});

test('cached single-token steps give the logits of recomputing the whole sequence', () => {
  const cache = model.createCache(1);
  const steps: number[][] = [take<number[][][]>(model.forward([ref.prompt], { cache, lastPositionOnly: true }).logits)[0][0]];
  for (const id of ref.tokens.slice(0, -1)) steps.push(take<number[][][]>(model.forward([[id]], { cache, lastPositionOnly: true }).logits)[0][0]);
  assert.equal(cache.length, ref.sequence.length - 1);
  cache.dispose();
  const recomputed = take<number[][][]>(model.forward([ref.sequence.slice(0, -1)]).logits)[0].slice(ref.prompt.length - 1);
  assert.ok(maxAbsDiff(steps, recomputed) < 1e-4);
  assert.ok(maxAbsDiff(steps, ref.step_logits) < 1e-4);
});

test('greedy decoding without the cache gives the same tokens', async () => {
  const result = await generate(model, ref.prompt, { maxNewTokens: ref.max_new_tokens, stopIds: [], useCache: false });
  assert.deepEqual(result.tokens.map((t) => t.id), ref.tokens);
});

test('a left-padded batch decodes with one cache as each row does alone', () => {
  const prompts = [ref.prompt.slice(3), ref.prompt];
  const width = Math.max(...prompts.map((p) => p.length));
  const ids = prompts.map((p) => [...new Array<number>(width - p.length).fill(0), ...p]);
  const attentionMask = prompts.map((p) => [...new Array<number>(width - p.length).fill(0), ...p.map(() => 1)]);
  const cache = model.createCache(2);
  let logits = take<number[][][]>(model.forward(ids, { cache, attentionMask, lastPositionOnly: true }).logits);
  const next = [[7], [9]];
  logits = take<number[][][]>(model.forward(next, { cache, lastPositionOnly: true }).logits);
  cache.dispose();
  prompts.forEach((p, b) => {
    const alone = take<number[][][]>(model.forward([[...p, next[b][0]]], { lastPositionOnly: true }).logits);
    assert.ok(maxAbsDiff(logits[b], alone[0]) < 1e-4, `row ${b}`);
  });
});

test('sampling is repeatable with a seed and differs across seeds', async () => {
  const sample = async (seed: number) =>
    (await generate(model, ref.prompt, { maxNewTokens: 16, stopIds: [], temperature: 1.5, topK: 40, topP: 0.95, seed })).tokens.map((t) => t.id);
  const a = await sample(1);
  assert.deepEqual(await sample(1), a);
  const others = await Promise.all([2, 3, 4].map(sample));
  assert.ok(others.some((o) => o.join() !== a.join()));
});

test('top-k 1 sampling is greedy', async () => {
  const result = await generate(model, ref.prompt, { maxNewTokens: ref.max_new_tokens, stopIds: [], temperature: 1, topK: 1, seed: 5 });
  assert.deepEqual(result.tokens.map((t) => t.id), ref.tokens);
});

test('a stop id ends generation after that token; the text leaves it out', async () => {
  const stop = ref.tokens[4];
  const result = await generate(model, ref.prompt, { maxNewTokens: 12, stopIds: [stop], decode: letters });
  assert.deepEqual(result.tokens.map((t) => t.id), ref.tokens.slice(0, 5));
  assert.equal(result.finishReason, 'stop');
  assert.equal(result.text, letters(ref.tokens.slice(0, 4)));
});

test('the config eos id stops generation by default', async () => {
  const withEos = GlmModel.fromWeights({ ...model.config, eosTokenIds: [ref.tokens[2]] }, openWeights(TINY_CHATGLM3));
  const result = await generate(withEos, ref.prompt, { maxNewTokens: 12 });
  withEos.dispose();
  assert.deepEqual(result.tokens.map((t) => t.id), ref.tokens.slice(0, 3));
});

test('a stop string ends generation and is cut from the text', async () => {
  const full = letters(ref.tokens);
  const stop = full.slice(5, 7);
  const at = full.indexOf(stop);
  const result = await generate(model, ref.prompt, { maxNewTokens: 12, stopIds: [], stopStrings: ['not-there', stop], decode: letters });
  assert.equal(result.finishReason, 'stop');
  assert.equal(result.stopString, stop);
  assert.equal(result.text, full.slice(0, at));
  assert.equal(result.tokens.length, at + stop.length);
});

test('logprobs: chosen token and top alternatives are log-softmax values, most likely first', async () => {
  const result = await generate(model, ref.prompt, { maxNewTokens: 4, stopIds: [], topLogprobs: 5, temperature: 1, seed: 3 });
  result.tokens.forEach((t, k) => {
    assert.equal(t.topLogprobs.length, 5);
    for (let i = 1; i < 5; i++) assert.ok(t.topLogprobs[i - 1].logprob >= t.topLogprobs[i].logprob);
    assert.ok(t.topLogprobs.reduce((s, e) => s + Math.exp(e.logprob), 0) <= 1 + 1e-9);
    assert.ok(t.logprob <= 0);
    const listed = t.topLogprobs.find((e) => e.id === t.id);
    if (listed) assert.equal(listed.logprob, t.logprob);
    else assert.ok(t.logprob <= t.topLogprobs[4].logprob);
    if (k === 0) {
      const expected = logSoftmax(ref.step_logits[0]);
      for (const e of t.topLogprobs) assert.ok(Math.abs(e.logprob - expected[e.id]) < 1e-4);
    }
  });
});

test('tokens stream as they are produced, and an abort ends generation between tokens', async () => {
  const controller = new AbortController();
  const seen: number[] = [];
  const stream = generateTokens(model, ref.prompt, { maxNewTokens: 12, stopIds: [], signal: controller.signal });
  for (;;) {
    const next = await stream.next();
    if (next.done) {
      assert.equal(next.value.finishReason, 'cancelled');
      assert.deepEqual(next.value.tokens.map((t) => t.id), seen);
      break;
    }
    seen.push(next.value.id);
    if (seen.length === 3) controller.abort();
  }
  assert.deepEqual(seen, ref.tokens.slice(0, 3));
});

test('ids past vocabSize are never chosen', async () => {
  const result = await generate(model, ref.prompt, { maxNewTokens: 8, stopIds: [], temperature: 2, seed: 11, vocabSize: 20 });
  for (const t of result.tokens) assert.ok(t.id < 20);
});
