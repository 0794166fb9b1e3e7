// The data pipeline: chat template → ids and labels, truncation, padding, order and split.
import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { templateFor } from '../../src/model/chat-templates/select.ts';
import { IGNORE_INDEX } from '../../src/model/chat-templates/types.ts';
import { ensureTinyModel } from '../../src/model/tiny.ts';
import { loadTokenizer } from '../../src/model/tokenizers/load.ts';
import { collate, DataPlan } from '../../src/trainer/data/batches.ts';
import { encodeConversation, encodeDatasetFile } from '../../src/trainer/data/encode.ts';
import { epochOrder, splitValidation } from '../../src/trainer/data/order.ts';
import { finalReplyStart, truncateExample } from '../../src/trainer/data/truncate.ts';
import { conversation, scratchDir, writeJsonl } from './helpers.ts';

const X = IGNORE_INDEX;

test('truncation keeps the reply and cuts the context from the left', () => {
  const example = { inputIds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], labels: [X, X, X, X, X, X, 7, 8, 9, 10] };
  const start = finalReplyStart(example.labels);
  assert.equal(start, 6);
  assert.deepEqual(truncateExample(example, 10, start), { kind: 'kept', example });
  // a quarter window (1 token) is the context's; the whole 4-token reply fits, the context keeps its last 2
  assert.deepEqual(truncateExample(example, 6, start), { kind: 'truncated', example: { inputIds: [5, 6, 7, 8, 9, 10], labels: [X, X, 7, 8, 9, 10] } });
});

test('a reply longer than the window keeps the context a quarter of it and loses its end', () => {
  const example = { inputIds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], labels: [X, X, X, 4, 5, 6, 7, 8, 9, 10] };
  // window 8: the context keeps 2 tokens (2, 3), the reply its first 6 (4 … 9)
  assert.deepEqual(truncateExample(example, 8, finalReplyStart(example.labels)), { kind: 'truncated', example: { inputIds: [2, 3, 4, 5, 6, 7, 8, 9], labels: [X, X, 4, 5, 6, 7, 8, 9] } });
});

test('an example with no target left is dropped', () => {
  assert.deepEqual(truncateExample({ inputIds: [1, 2, 3], labels: [X, X, X] }, 8, -1), { kind: 'dropped' });
  // a 1-token window: the only reply token sits at position 0 and nothing predicts it
  const example = { inputIds: [1, 2, 3], labels: [X, X, 3] };
  assert.deepEqual(truncateExample(example, 1, finalReplyStart(example.labels)), { kind: 'dropped' });
});

test('the chat template gives labels on the reply only; train_on_inputs and weight 0 are respected', async (t) => {
  const dir = ensureTinyModel(join(scratchDir(t, 'data'), 'glm-tiny'));
  const tokenizer = await loadTokenizer(dir);
  const template = await templateFor(dir, tokenizer);
  const messages = conversation('Hi?', 'Yes.');
  const { example } = encodeConversation(template, messages, { maxSeqLen: 512, trainOnInputs: false })!;
  const targets = example.labels.flatMap((l, i) => (l === X ? [] : [example.inputIds[i]]));
  assert.equal(tokenizer.decode(targets), '\nYes.', 'the targets are the reply after the assistant cue (THUDM\'s "\\n" + content) and its end token');
  assert.equal(targets.at(-1), tokenizer.eosId);
  const all = encodeConversation(template, messages, { maxSeqLen: 512, trainOnInputs: true })!.example;
  assert.ok(all.labels.filter((l) => l !== X).length > targets.length, 'train_on_inputs adds the prompt tokens');
  const silent = [...messages, { role: 'user' as const, content: 'Again?' }, { role: 'assistant' as const, content: 'No.', weight: 0 as const }];
  const weighted = encodeConversation(template, silent, { maxSeqLen: 512, trainOnInputs: false })!.example;
  assert.equal(tokenizer.decode(weighted.labels.flatMap((l, i) => (l === X ? [] : [weighted.inputIds[i]]))), '\nYes.<|user|>', 'a weight-0 turn is not a target (ChatGLM3 trains the role token that ends a reply)');
  assert.equal(encodeConversation(template, conversation('Hi?', 'Yes.').map((m) => ({ ...m, weight: 0 as const })), { maxSeqLen: 512, trainOnInputs: false }), null);
});

test('a dataset file is encoded with counts of truncated and dropped examples', async (t) => {
  const root = scratchDir(t, 'data-file');
  const dir = ensureTinyModel(join(root, 'glm-tiny'));
  const template = await templateFor(dir, await loadTokenizer(dir));
  const file = writeJsonl(join(root, 'train.jsonl'), [
    conversation('Short?', 'Yes.'),
    conversation('A long question '.repeat(8), 'Fine.'), // > 40 tokens: truncated
    [{ role: 'user', content: 'Q?' }, { role: 'assistant', content: 'Silent.', weight: 0 }], // no target: dropped
  ]);
  const { examples, stats } = await encodeDatasetFile(file, template, { maxSeqLen: 40, trainOnInputs: false });
  assert.deepEqual(stats, { read: 3, truncated: 1, dropped: 1 });
  assert.deepEqual(examples.map((e) => e.line), [1, 2]);
  assert.ok(examples.every((e) => e.inputIds.length <= 40 && e.labels.length === e.inputIds.length));
});

test('batches are right-padded with the pad id, labels ignored on pads, and count tokens and targets', () => {
  const batch = collate([{ inputIds: [5, 6, 7], labels: [X, 6, 7] }, { inputIds: [8], labels: [8] }], 0);
  assert.deepEqual(batch.inputIds, [[5, 6, 7], [8, 0, 0]]);
  assert.deepEqual(batch.labels, [[X, 6, 7], [8, X, X]]);
  assert.equal(batch.tokens, 4);
  assert.equal(batch.targets, 2, 'a target at position 0 is never predicted');
});

test('epoch orders are permutations fixed by (seed, epoch); the plan covers every example once per epoch', () => {
  assert.deepEqual(epochOrder(10, 42, 0), epochOrder(10, 42, 0));
  assert.notDeepEqual(epochOrder(10, 42, 0), epochOrder(10, 42, 1));
  assert.notDeepEqual(epochOrder(10, 42, 0), epochOrder(10, 43, 0));
  assert.deepEqual([...epochOrder(10, 42, 3)].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const plan = new DataPlan(10, 3, 2, 42); // 4 micro-batches (3, 3, 3, 1) → 2 steps per epoch
  assert.equal(plan.stepsPerEpoch, 2);
  const epoch1 = [plan.microBatches(2), plan.microBatches(3)].flat();
  assert.deepEqual(epoch1.map((b) => b.length), [3, 3, 3, 1]);
  assert.deepEqual(epoch1.flat(), epochOrder(10, 42, 1));
  assert.deepEqual(plan.position(3), { epoch: 1, stepInEpoch: 1 });
});

test('the validation split holds out round(fraction × n) examples chosen by the seed, file order kept', () => {
  const items = Array.from({ length: 20 }, (_, i) => i);
  const { train, validation } = splitValidation(items, 0.2, 7);
  assert.equal(validation.length, 4);
  assert.deepEqual([...train, ...validation].sort((a, b) => a - b), items);
  assert.deepEqual(validation, [...validation].sort((a, b) => a - b));
  assert.deepEqual(splitValidation(items, 0.2, 7), { train, validation });
  assert.deepEqual(splitValidation(items, 0, 7), { train: items, validation: [] });
});
