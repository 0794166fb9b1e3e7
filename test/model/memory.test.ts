// Tensors are disposed: memory stays flat over many forward passes, decoding steps and gradient steps.
import test from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initCompute } from '../../src/compute/backend.ts';
import { generate } from '../../src/model/generate.ts';
import { loadModel } from '../../src/model/load.ts';
import { loadPtuningPrefix, reference, TINY_CHATGLM3 } from './fixtures.ts';

await initCompute();
const model = loadModel(TINY_CHATGLM3);
const prefix = loadPtuningPrefix();

test('1,000 forward passes leave tf.memory().numTensors unchanged', () => {
  const ids = reference.forward[1].input_ids;
  const padded = reference.forward_padded_batch;
  model.forward(ids).logits.dispose(); // first use may set up backend state
  const before = tf.memory();
  for (let i = 0; i < 1000; i++) {
    const options = i % 2 === 0 ? { prefix } : { attentionMask: padded.attention_mask, returnHidden: true };
    const out = model.forward(i % 2 === 0 ? ids : padded.input_ids, options);
    tf.dispose([out.logits, out.hidden ?? []]);
  }
  const after = tf.memory();
  assert.equal(after.numTensors, before.numTensors);
  assert.equal(after.numBytes, before.numBytes);
});

test('generation (cache created and disposed) and loss gradients leave no tensors behind', async () => {
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) {
    await generate(model, reference.generation.prompt, { maxNewTokens: 8, stopIds: [], temperature: 1, seed: i, prefix: i % 2 ? prefix : undefined });
  }
  const emb = model.parameters.get('transformer.embedding.word_embeddings.weight')!;
  emb.trainable = true;
  for (let i = 0; i < 5; i++) {
    const { value, grads } = tf.variableGrads(() => model.loss(reference.loss.input_ids, reference.loss.labels), [emb]);
    tf.dispose([value, ...Object.values(grads)]);
  }
  emb.trainable = false;
  assert.equal(tf.memory().numTensors, before);
});

test('dispose releases every tensor of a model', () => {
  const before = tf.memory().numTensors;
  const other = loadModel(TINY_CHATGLM3);
  assert.ok(tf.memory().numTensors > before);
  other.dispose();
  assert.equal(tf.memory().numTensors, before);
});
