// ChatGLM-6B (v1) generation after [gMASK] <sop>: greedy decoding with the KV cache token for token
// against the reference, the 2D positions of the cached steps, equality with recomputation, and a
// left-padded batch decoded with one cache.
import test from 'node:test';
import assert from 'node:assert/strict';
import { initCompute } from '../../src/compute/backend.ts';
import type { ChatGlm6bCache } from '../../src/model/chatglm6b/cache.ts';
import { generate } from '../../src/model/generate.ts';
import { loadModel } from '../../src/model/load.ts';
import { logSoftmax } from '../../src/model/sampling.ts';
import { glm1, TINY_CHATGLM6B } from './chatglm6b-fixtures.ts';
import { maxAbsDiff, take } from './fixtures.ts';

await initCompute();
const model = loadModel(TINY_CHATGLM6B);
const ref = glm1.generation;

test('greedy decoding with the KV cache reproduces the reference tokens and step logits', async () => {
  const result = await generate(model, ref.prompt, { maxNewTokens: ref.max_new_tokens, stopIds: [] });
  assert.deepEqual(result.tokens.map((t) => t.id), ref.tokens);
  assert.equal(result.finishReason, 'length');
  result.tokens.forEach((t, k) => {
    const expected = logSoftmax(ref.step_logits[k])[t.id];
    assert.ok(Math.abs(t.logprob - expected) < 1e-4, `step ${k}: logprob ${t.logprob} vs ${expected}`);
  });
});

test('cached steps sit at [mask position, block position] and give the logits of recomputation', () => {
  const cache = model.createCache(1) as ChatGlm6bCache;
  const steps: number[][] = [take<number[][][]>(model.forward([ref.prompt], { cache, lastPositionOnly: true }).logits)[0][0]];
  ref.tokens.slice(0, -1).forEach((id, k) => {
    // the position the step for tokens[k] will use, as THUDM's prepare_inputs_for_generation gives it
    assert.deepEqual([cache.maskPositions![0], cache.nextPositions[0]], ref.step_position_ids[k], `step ${k}`);
    steps.push(take<number[][][]>(model.forward([[id]], { cache, lastPositionOnly: true }).logits)[0][0]);
  });
  assert.equal(cache.length, ref.sequence.length - 1);
  cache.dispose();
  assert.ok(maxAbsDiff(steps, ref.step_logits) < 1e-4, `max |Δlogit| ${maxAbsDiff(steps, ref.step_logits)}`);
  const recomputed = take<number[][][]>(model.forward([ref.sequence.slice(0, -1)]).logits)[0].slice(ref.prompt.length - 1);
  assert.ok(maxAbsDiff(steps, recomputed) < 1e-4);
});

test('greedy decoding without the cache gives the same tokens', async () => {
  const result = await generate(model, ref.prompt, { maxNewTokens: ref.max_new_tokens, stopIds: [], useCache: false });
  assert.deepEqual(result.tokens.map((t) => t.id), ref.tokens);
});

test('a stop id ends generation after that token', async () => {
  const result = await generate(model, ref.prompt, { maxNewTokens: 4, stopIds: [ref.tokens[1]] });
  assert.deepEqual(result.tokens.map((t) => t.id), ref.tokens.slice(0, 2));
  assert.equal(result.finishReason, 'stop');
});

test('a left-padded batch decodes with one cache as each row does alone', () => {
  const prompts = [ref.prompt.slice(3), ref.prompt];
  const width = Math.max(...prompts.map((p) => p.length));
  const pad = model.config.padTokenId;
  const ids = prompts.map((p) => [...new Array<number>(width - p.length).fill(pad), ...p]);
  const attentionMask = prompts.map((p) => [...new Array<number>(width - p.length).fill(0), ...p.map(() => 1)]);
  const cache = model.createCache(2);
  const first = take<number[][][]>(model.forward(ids, { cache, attentionMask, lastPositionOnly: true }).logits);
  const next = [[7], [9]];
  const second = take<number[][][]>(model.forward(next, { cache, lastPositionOnly: true }).logits);
  cache.dispose();
  prompts.forEach((p, b) => {
    const alone = take<number[][][]>(model.forward([[...p, next[b][0]]]).logits)[0];
    assert.ok(maxAbsDiff(first[b][0], alone[p.length - 1]) < 1e-4, `row ${b}, prompt`);
    assert.ok(maxAbsDiff(second[b][0], alone[p.length]) < 1e-4, `row ${b}, step`);
  });
});
