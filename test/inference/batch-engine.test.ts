// The continuous-batching engine against generate(): sequences that join a running batch mid-flight,
// with different prompt lengths, LoRA adapters, P-tuning prefixes, sampling seeds and n > 1, decode
// exactly as each would alone (same tokens, logprobs to 1e-4), on both architectures (ChatGLM3 and
// ChatGLM-6B's 2D positions); cancellation; prompt scoring; no tensor is left behind.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initCompute } from '../../src/compute/backend.ts';
import { BatchEngine, type EngineEvents, type EngineRequest, type FinishReason } from '../../src/inference/batch-engine.ts';
import type { GeneratedTokenMessage, Sampling } from '../../src/inference/protocol.ts';
import { loadLora } from '../../src/methods/lora/load.ts';
import { loadPrefix } from '../../src/methods/ptuning/format.ts';
import { generate } from '../../src/model/generate.ts';
import type { CausalLanguageModel } from '../../src/model/language-model.ts';
import { loadModel } from '../../src/model/load.ts';
import { logSoftmax } from '../../src/model/sampling.ts';
import { TINY_CHATGLM6B, GLM1_FIXTURES } from '../model/chatglm6b-fixtures.ts';
import { GLM_FIXTURES, reference, TINY_CHATGLM3 } from '../model/fixtures.ts';

await initCompute();

const GREEDY: Sampling = { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0, logitBias: [] };
const SAMPLED: Sampling = { ...GREEDY, temperature: 0.9, topP: 0.95, presencePenalty: 0.3, frequencyPenalty: 0.2 };

interface Outcome {
  tokens: Map<number, GeneratedTokenMessage[]>;
  finish: Map<number, FinishReason>;
  prompt?: { logprob: number | null; top: { id: number; logprob: number }[] }[];
  failed?: string;
}

/** Runs the engine, submitting each request at its tick, until every request has finished. */
function run(model: CausalLanguageModel, schedule: { at: number; request: EngineRequest }[], maxBatch = 8, onTick?: (tick: number, engine: BatchEngine) => void): Map<string, Outcome> {
  const outcomes = new Map<string, Outcome>(schedule.map((s) => [s.request.id, { tokens: new Map(), finish: new Map() }]));
  const events: EngineEvents = {
    prompt: (id, tokens) => (outcomes.get(id)!.prompt = tokens),
    tokens: (id, tokens) => {
      for (const t of tokens) outcomes.get(id)!.tokens.set(t.index, [...(outcomes.get(id)!.tokens.get(t.index) ?? []), t]);
    },
    finished: (id, index, reason) => outcomes.get(id)!.finish.set(index, reason),
    failed: (id, message) => (outcomes.get(id)!.failed = message),
  };
  const engine = new BatchEngine(model, maxBatch, events);
  let tick = 0;
  const waiting = [...schedule];
  while (waiting.length > 0 || engine.busy) {
    for (const s of waiting.filter((s) => s.at === tick)) engine.submit(s.request);
    waiting.splice(0, waiting.length, ...waiting.filter((s) => s.at !== tick));
    onTick?.(tick, engine);
    engine.tick();
    tick++;
    assert.ok(tick < 1000, 'the engine should finish');
  }
  return outcomes;
}

function request(id: string, promptIds: number[], options: Partial<EngineRequest> = {}): EngineRequest {
  return { id, promptIds, seeds: [1], maxTokens: 10, sampling: GREEDY, stopIds: new Set(), vocabSize: 1 << 20, logprobs: 3, promptLogprobs: null, ...options };
}

/** What generate() makes of the same request, sequence by sequence. */
async function alone(model: CausalLanguageModel, r: EngineRequest) {
  return Promise.all(
    r.seeds.map((seed) =>
      generate(model, r.promptIds, {
        maxNewTokens: r.maxTokens,
        stopIds: [...r.stopIds],
        seed,
        topLogprobs: r.logprobs ?? 0,
        adapters: r.adapters,
        prefix: r.prefix,
        vocabSize: r.vocabSize,
        ...r.sampling,
      }),
    ),
  );
}

async function assertSameAsAlone(model: CausalLanguageModel, outcome: Outcome, r: EngineRequest): Promise<void> {
  assert.equal(outcome.failed, undefined);
  const expected = await alone(model, r);
  expected.forEach((result, index) => {
    const got = outcome.tokens.get(index) ?? [];
    assert.deepEqual(got.map((t) => t.id), result.tokens.map((t) => t.id), `${r.id}[${index}] tokens`);
    got.forEach((t, k) => {
      assert.ok(Math.abs(t.logprob! - result.tokens[k].logprob) < 1e-4, `${r.id}[${index}] step ${k}: logprob ${t.logprob} vs ${result.tokens[k].logprob}`);
      assert.deepEqual(t.top!.map((a) => a.id), result.tokens[k].topLogprobs.map((a) => a.id));
    });
    assert.equal(outcome.finish.get(index), result.finishReason, `${r.id}[${index}] finish`);
  });
}

test('ChatGLM3: base, LoRA and P-tuning sequences joining a running batch decode as each does alone', async () => {
  const model = loadModel(TINY_CHATGLM3);
  const lora = loadLora(model, join(GLM_FIXTURES, 'lora'));
  const prefix = loadPrefix(model, join(GLM_FIXTURES, 'ptuning'));
  const prompt = reference.generation.prompt;
  const before = tf.memory().numTensors;
  const requests = [
    { at: 0, request: request('base', prompt, { maxTokens: 12 }) },
    { at: 2, request: request('lora', [...prompt, 7, 9, 11], { adapters: lora.adapters }) },
    { at: 2, request: request('prefix', prompt.slice(2), { prefix }) },
    { at: 5, request: request('sampled', prompt.slice(1), { sampling: SAMPLED, seeds: [11, 12, 13], maxTokens: 8 }) },
    { at: 6, request: request('lora-sampled', prompt.slice(0, 3), { adapters: lora.adapters, sampling: SAMPLED, seeds: [5] }) },
    { at: 7, request: request('stops', prompt, { stopIds: new Set(reference.generation.tokens.slice(4, 5)), maxTokens: 12 }) },
  ];
  let widest = 0;
  const outcomes = run(model, requests, 8, (_tick, engine) => (widest = Math.max(widest, engine.running)));
  assert.ok(widest >= 6, `sequences of several requests shared the batch (widest ${widest})`);
  for (const { request: r } of requests) await assertSameAsAlone(model, outcomes.get(r.id)!, r);
  assert.deepEqual(outcomes.get('base')!.tokens.get(0)!.map((t) => t.id), reference.generation.tokens, 'the reference greedy tokens');
  assert.equal(outcomes.get('stops')!.finish.get(0), 'stop');
  assert.equal(tf.memory().numTensors, before, 'every cache row was disposed');
  lora.dispose();
  prefix.dispose();
  model.dispose();
});

test('ChatGLM-6B (2D positions): sequences of different lengths joining a batch decode as each does alone', async () => {
  const model = loadModel(TINY_CHATGLM6B);
  const lora = loadLora(model, join(GLM1_FIXTURES, 'lora'));
  const prompt = [48, 80, 51, 54, 75, 47, 151, 154]; // text, [gMASK], <sop>
  const before = tf.memory().numTensors;
  const requests = [
    { at: 0, request: request('long', prompt, { maxTokens: 12 }) },
    { at: 3, request: request('short', prompt.slice(3), { sampling: SAMPLED, seeds: [3, 4] }) },
    { at: 4, request: request('lora', prompt.slice(1), { adapters: lora.adapters }) },
  ];
  const outcomes = run(model, requests);
  for (const { request: r } of requests) await assertSameAsAlone(model, outcomes.get(r.id)!, r);
  assert.equal(tf.memory().numTensors, before);
  lora.dispose();
  model.dispose();
});

test('prompt scoring: each prompt token’s logprob is the log-softmax of the logits before it; max_tokens 0 generates nothing', () => {
  const model = loadModel(TINY_CHATGLM3);
  const forward = reference.forward[2]; // 20 tokens
  const ids = forward.input_ids[0];
  const outcome = run(model, [{ at: 0, request: request('score', ids, { maxTokens: 0, promptLogprobs: 2 }) }]).get('score')!;
  assert.equal(outcome.tokens.size, 0);
  assert.equal(outcome.finish.get(0), 'length');
  assert.equal(outcome.prompt!.length, ids.length);
  assert.deepEqual(outcome.prompt![0], { logprob: null, top: [] });
  for (let t = 1; t < ids.length; t++) {
    const expected = logSoftmax(forward.logits[0][t - 1]);
    assert.ok(Math.abs(outcome.prompt![t].logprob! - expected[ids[t]]) < 1e-4, `token ${t}`);
    const best = [...expected.keys()].sort((a, b) => expected[b] - expected[a]).slice(0, 2);
    assert.deepEqual(outcome.prompt![t].top.map((a) => a.id), best);
  }
  model.dispose();
});

test('a request the model cannot run fails alone; the batch it tried to join goes on', async () => {
  const model = loadModel(TINY_CHATGLM3);
  const prompt = reference.generation.prompt;
  const good = request('good', prompt, { maxTokens: 12 });
  const outcomes = run(model, [
    { at: 0, request: good },
    { at: 3, request: request('bad', [...prompt, 100_000]) },
  ]);
  assert.match(outcomes.get('bad')!.failed!, /outside the vocabulary/);
  await assertSameAsAlone(model, outcomes.get('good')!, good);
  model.dispose();
});

test('cancelling one sequence, a whole request, or a request still waiting', () => {
  const model = loadModel(TINY_CHATGLM3);
  const prompt = reference.generation.prompt;
  const before = tf.memory().numTensors;
  const requests = [
    { at: 0, request: request('pair', prompt, { seeds: [1, 2], sampling: SAMPLED, maxTokens: 30 }) },
    { at: 0, request: request('whole', prompt.slice(1), { maxTokens: 30 }) },
    { at: 1, request: request('queued', prompt, { maxTokens: 30 }) },
  ];
  const outcomes = run(model, requests, 3, (tick, engine) => {
    if (tick === 3) {
      engine.cancel('pair', 1);
      engine.cancel('whole');
      engine.cancel('queued'); // the batch was full (3 rows): it never started
    }
  });
  assert.equal(outcomes.get('pair')!.finish.get(1), 'cancelled');
  assert.equal(outcomes.get('pair')!.finish.get(0), 'length');
  assert.equal(outcomes.get('pair')!.tokens.get(0)!.length, 30);
  assert.ok(outcomes.get('pair')!.tokens.get(1)!.length <= 4);
  assert.equal(outcomes.get('whole')!.finish.get(0), 'cancelled');
  assert.equal(outcomes.get('queued')!.finish.get(0), 'cancelled');
  assert.equal(outcomes.get('queued')!.tokens.size, 0);
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});
