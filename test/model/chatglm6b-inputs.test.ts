// ChatGLM-6B's host-side attention inputs and its GeLU against the reference: THUDM's 2D position ids
// and prefix mask (exact, including left padding), the float16 rotary frequencies, the tanh-GeLU and
// its hand-written gradient.
import test from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initCompute } from '../../src/compute/backend.ts';
import { continuationInputs, promptInputs, promptPositions, promptSees, rotaryInvFreq, rowContexts, type RowContext } from '../../src/model/chatglm6b/attention-inputs.ts';
import { gelu } from '../../src/model/chatglm6b/gelu.ts';
import { readModelConfig } from '../../src/model/config.ts';
import { glm1, tokenMaskFrom, TINY_CHATGLM6B } from './chatglm6b-fixtures.ts';
import { maxAbsDiff, take } from './fixtures.ts';

await initCompute();
const config = readModelConfig(TINY_CHATGLM6B);
assert.ok(config.architecture === 'chatglm6b');
const ones = (ids: number[][]): number[][] => ids.map((row) => row.map(() => 1));
/** THUDM's bool mask [B][1][T][T], true = masked. */
const thudmMask = (contexts: RowContext[], seq: number): boolean[][][][] =>
  contexts.map((c) => [Array.from({ length: seq }, (_, t) => Array.from({ length: seq }, (_, j) => !promptSees(c, t, j)))]);

test('default position ids, context lengths, mask positions and masks are THUDM’s, exactly', () => {
  for (const f of glm1.forward) {
    const contexts = rowContexts(f.input_ids, ones(f.input_ids), config);
    assert.deepEqual(contexts, [{ start: 0, contextLength: f.context_length, maskPosition: f.mask_position }], f.name);
    const T = f.input_ids[0].length;
    assert.deepEqual(promptPositions(contexts, T), f.position_ids, f.name);
    assert.deepEqual(thudmMask(contexts, T), f.attention_mask, f.name);
  }
  // the training batch: different context lengths per row, right padding treated as tokens (THUDM passes no mask)
  const loss = glm1.loss;
  const contexts = rowContexts(loss.input_ids, ones(loss.input_ids), config);
  assert.deepEqual(promptPositions(contexts, loss.input_ids[0].length), loss.position_ids);
  assert.deepEqual(thudmMask(contexts, loss.input_ids[0].length), loss.attention_mask);
});

test('a left-padded batch: positions and mask of the unpadded rows, padded with 0 and with "masked"', () => {
  const ref = glm1.forward_padded_batch;
  const T = ref.input_ids[0].length;
  const contexts = rowContexts(ref.input_ids, tokenMaskFrom(ref.real_token_from, T), config);
  assert.deepEqual(contexts.map((c) => c.start), ref.real_token_from);
  assert.deepEqual(promptPositions(contexts, T), ref.position_ids);
  assert.deepEqual(thudmMask(contexts, T), ref.attention_mask);
  // padding rows see no key, so their queries are zeroed; every real row sees something
  const { seesKeys } = promptInputs(contexts, T, 0);
  assert.deepEqual(Array.from(seesKeys), tokenMaskFrom(ref.real_token_from, T).flat());
  // with a P-tuning prefix every query sees the P prefix keys, padding rows included
  const withPrefix = promptInputs(contexts, T, glm1.ptuning.pre_seq_len);
  assert.ok(withPrefix.seesKeys.every((s) => s === 1));
  assert.deepEqual(withPrefix.mask!.shape, [2, 1, T, glm1.ptuning.pre_seq_len + T]);
});

test('decoding steps continue at [mask position, next block position] and see every cached token', () => {
  const g = glm1.generation;
  const contexts = rowContexts([g.prompt], [g.prompt.map(() => 1)], config);
  assert.deepEqual(promptPositions(contexts, g.prompt.length)[0], g.prompt_position_ids);
  assert.equal(contexts[0].contextLength, g.context_length);
  let next = g.prompt_position_ids[1][g.prompt.length - 1] + 1;
  g.step_position_ids.forEach((expected, k) => {
    const keys = [new Array<number>(g.prompt.length + k).fill(1)];
    const step = continuationInputs(keys, 1, [g.mask_position], [next]);
    assert.deepEqual(step.positions[0].map((row) => row[0]), expected, `step ${k}`);
    assert.equal(step.mask, null); // one new token, no padding: it sees every key
    next += 1;
  });
  // cached padding stays masked
  const padded = continuationInputs([[0, 0, 1, 1]], 1, [1], [2]);
  assert.deepEqual(Array.from(padded.mask!.values.map((v) => (v < 0 ? 1 : 0))), [1, 1, 0, 0, 0]);
});

test('rows without <sop> or without [gMASK]/[MASK], and right padding in the mask, are errors', () => {
  const { bosTokenId: sop, gmaskTokenId: gmask, maskTokenId: mask } = config;
  assert.throws(() => rowContexts([[5, 6, gmask]], [[1, 1, 1]], config), /no <sop> \(bos id 154\)/);
  assert.throws(() => rowContexts([[5, 6, sop]], [[1, 1, 1]], config), /neither \[gMASK\] \(id 151\) nor \[MASK\] \(id 150\)/);
  assert.throws(() => rowContexts([[gmask, sop, 3]], [[1, 1, 0]], config), /left/);
  // [MASK] serves when there is no [gMASK]; [gMASK] wins when both are present
  assert.equal(rowContexts([[5, mask, 6, sop]], [[1, 1, 1, 1]], config)[0].maskPosition, 1);
  assert.equal(rowContexts([[mask, 5, gmask, sop]], [[1, 1, 1, 1]], config)[0].maskPosition, 2);
});

test('rotary frequencies are THUDM’s float16-rounded inv_freq', () => {
  assert.equal(glm1.architecture.head_dim, config.headDim);
  assert.deepEqual(rotaryInvFreq(config.headDim), glm1.architecture.inv_freq);
  // the real model's head (d = 128): 32 frequencies, each a float16 value
  const real = rotaryInvFreq(128);
  assert.equal(real.length, 32);
  assert.equal(real[0], 1);
  assert.ok(real.every((f, j) => Math.abs(f - 10000 ** (-(2 * j) / 64)) <= f * 2 ** -11));
});

test('tanh-GeLU: THUDM’s formula, and its gradient equals autodiff of the composite', () => {
  const values = Array.from({ length: 64 }, (_, i) => (i - 32) / 6);
  const x = tf.tensor2d(values, [8, 8]);
  const expected = values.map((v) => 0.5 * v * (1 + Math.tanh(0.7978845608028654 * v * (1 + 0.044715 * v * v))));
  assert.ok(maxAbsDiff(Array.from(take<number[][]>(gelu(x)).flat()), expected) < 1e-6);
  const composite = (t: tf.Tensor) => tf.mul(tf.mul(t, 0.5), tf.add(tf.tanh(tf.mul(tf.mul(t, tf.add(tf.mul(tf.square(t), 0.044715), 1)), 0.7978845608028654)), 1));
  const weights = tf.tensor2d(values.map((_, i) => Math.sin(i)), [8, 8]); // a non-uniform upstream gradient
  const ours = take<number[][]>(tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gelu(t as tf.Tensor2D), weights)))(x));
  const auto = take<number[][]>(tf.grad((t: tf.Tensor) => tf.sum(tf.mul(composite(t), weights)))(x));
  assert.ok(maxAbsDiff(ours, auto) < 1e-5, `max |Δgrad| ${maxAbsDiff(ours, auto)}`);
  tf.dispose([x, weights]);
});
