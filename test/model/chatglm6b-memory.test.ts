// ChatGLM-6B (v1) disposes its tensors: memory stays flat over many forward passes (plain, padded, with a
// prefix), decoding with the cache, and gradient steps; dispose releases the whole model.
import test from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initCompute } from '../../src/compute/backend.ts';
import { generate } from '../../src/model/generate.ts';
import { loadModel } from '../../src/model/load.ts';
import { glm1, loadGlm1Prefix, tokenMaskFrom, TINY_CHATGLM6B } from './chatglm6b-fixtures.ts';

await initCompute();
const model = loadModel(TINY_CHATGLM6B);
const prefix = loadGlm1Prefix();

test('300 forward passes leave tf.memory() unchanged', () => {
  const ids = glm1.forward[1].input_ids;
  const padded = glm1.forward_padded_batch;
  const attentionMask = tokenMaskFrom(padded.real_token_from, padded.input_ids[0].length);
  model.forward(ids).logits.dispose(); // first use may set up backend state
  const before = tf.memory();
  for (let i = 0; i < 300; i++) {
    const out = i % 3 === 0 ? model.forward(ids, { prefix }) : i % 3 === 1 ? model.forward(padded.input_ids, { attentionMask, returnHidden: true }) : model.forward(ids, { lastPositionOnly: true });
    tf.dispose([out.logits, out.hidden ?? []]);
  }
  const after = tf.memory();
  assert.equal(after.numTensors, before.numTensors);
  assert.equal(after.numBytes, before.numBytes);
});

test('generation (cache created and disposed) and loss gradients leave no tensors behind', async () => {
  const before = tf.memory().numTensors;
  for (let i = 0; i < 4; i++) {
    await generate(model, glm1.generation.prompt, { maxNewTokens: 6, stopIds: [], temperature: 1, seed: i, prefix: i % 2 ? prefix : undefined });
  }
  const emb = model.parameters.get('transformer.word_embeddings.weight')!;
  emb.trainable = true;
  for (let i = 0; i < 4; i++) {
    const { value, grads } = tf.variableGrads(() => model.loss(glm1.loss.input_ids, glm1.loss.labels), [emb]);
    tf.dispose([value, ...Object.values(grads)]);
  }
  emb.trainable = false;
  assert.equal(tf.memory().numTensors, before);
});

test('dispose releases every tensor of a model', () => {
  const before = tf.memory().numTensors;
  const other = loadModel(TINY_CHATGLM6B);
  assert.ok(tf.memory().numTensors > before);
  other.dispose();
  assert.equal(tf.memory().numTensors, before);
});
