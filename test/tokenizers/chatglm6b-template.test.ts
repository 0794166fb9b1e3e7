// ChatGLM-6B (v1)'s chat template against reference_chatglm6b.json: chat() prompts, ptuning/main.py
// training examples (truncation and padding included), process_response, and template selection.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChatMessage } from '../../src/model/chat.ts';
import { chatglm6bPromptText, chatglm6bTemplate, processResponse } from '../../src/model/chat-templates/chatglm6b.ts';
import { chatFamilyOf, templateFor } from '../../src/model/chat-templates/select.ts';
import { IGNORE_INDEX } from '../../src/model/chat-templates/types.ts';
import { loadTokenizer } from '../../src/model/tokenizers/load.ts';
import { FIXTURES, makeModelFolder } from './fixtures.ts';

type History = Array<[string, string]>;

const fixture = JSON.parse(readFileSync(join(FIXTURES, 'reference_chatglm6b.json'), 'utf8'));
const reference = fixture.tokenizers.chatglm6b as {
  chat_prompts: Array<{ name: string; query: string; history: History; prompt_text: string; input_ids: number[]; decoded: string; context_length: number; mask_position: number }>;
  training_examples: Array<{
    name: string;
    query: string;
    answer: string;
    history: History | null;
    prompt_text: string;
    max_source_length?: number;
    max_target_length?: number;
    a_ids: number[];
    input_ids: number[];
    labels: number[];
    context_length: number;
    decoded_labels: string;
    padded?: { max_seq_length: number; input_ids: number[]; labels: number[] };
  }>;
  process_response: Array<{ decoded: string; processed: string }>;
};

const v1Folder = makeModelFolder({
  'ice_text.model': { copy: join(FIXTURES, 'chatglm6b', 'ice_text.model') },
  'tokenizer_config.json': { tokenizer_class: 'ChatGLMTokenizer', num_image_tokens: 0 },
});
const v1 = async () => {
  const tokenizer = await loadTokenizer(v1Folder);
  return { tokenizer, template: chatglm6bTemplate(tokenizer) };
};

const conversation = (history: History, query: string, answer?: string): ChatMessage[] => [
  ...history.flatMap(([q, r]): ChatMessage[] => [
    { role: 'user', content: q },
    { role: 'assistant', content: r },
  ]),
  { role: 'user', content: query },
  ...(answer === undefined ? [] : [{ role: 'assistant' as const, content: answer }]),
];

test('templateFor picks the chatglm6b template for a v1 folder; it stops at <eop>', async () => {
  const { tokenizer } = await v1();
  assert.equal(chatFamilyOf(tokenizer), 'chatglm6b');
  const template = await templateFor(v1Folder, tokenizer);
  assert.equal(template.name, 'chatglm6b');
  assert.deepEqual(template.stopIds, [tokenizer.specialTokens['<eop>']]);
});

test('chat() prompts: the bare query, or [Round i] rounds from 0, then [gMASK] <sop>', async (t) => {
  const { tokenizer, template } = await v1();
  assert.equal(reference.chat_prompts.length, 3);
  for (const prompt of reference.chat_prompts) {
    await t.test(prompt.name, () => {
      assert.equal(chatglm6bPromptText(prompt.query, prompt.history), prompt.prompt_text);
      const ids = template.generationPrompt(conversation(prompt.history, prompt.query));
      assert.deepEqual(ids, prompt.input_ids);
      assert.equal(tokenizer.decode(ids), prompt.decoded);
      assert.equal(ids.indexOf(tokenizer.specialTokens['<sop>']), prompt.context_length);
      assert.equal(ids.indexOf(tokenizer.specialTokens['[gMASK]']), prompt.mask_position);
    });
  }
});

test('training examples are built as ptuning/main.py builds them', async (t) => {
  const { tokenizer, template } = await v1();
  assert.equal(reference.training_examples.length, 5);
  for (const example of reference.training_examples) {
    await t.test(example.name, () => {
      assert.equal(chatglm6bPromptText(example.query, example.history ?? [], example.history !== null), example.prompt_text);
      const maxLengths =
        example.max_source_length === undefined ? undefined : { source: example.max_source_length, target: example.max_target_length! };
      const built = template.trainingExample(conversation(example.history ?? [], example.query, example.answer), {
        historyColumn: example.history !== null,
        maxLengths,
      });
      const expected = example.padded ?? example;
      assert.deepEqual(built.inputIds, expected.input_ids);
      assert.deepEqual(built.labels, expected.labels);
      assert.deepEqual(built.inputIds.slice(0, example.input_ids.length), example.input_ids);
      assert.deepEqual(built.inputIds.slice(0, example.a_ids.length), example.a_ids);
      assert.equal(built.inputIds.indexOf(tokenizer.specialTokens['<sop>']), example.context_length);
      assert.equal(tokenizer.decode(built.labels.filter((label) => label !== IGNORE_INDEX)), example.decoded_labels);
    });
  }
});

test('process_response strips, fills the training date and restores full-width punctuation next to CJK', () => {
  assert.equal(reference.process_response.length, 3);
  for (const { decoded, processed } of reference.process_response) assert.equal(processResponse(decoded), processed);
  assert.equal(processResponse('\u3000中,,文?\u0085'), '中，，文？');
});

test('weight 0 and trainOnInputs choose which parts are targets; a system message is a prefix', async () => {
  const { tokenizer, template } = await v1();
  const [gmask, sop, eop] = [tokenizer.specialTokens['[gMASK]'], tokenizer.specialTokens['<sop>'], tokenizer.eosId];
  const messages: ChatMessage[] = [
    { role: 'system', content: '你是一个助手。' },
    { role: 'user', content: '你好' },
    { role: 'assistant', content: '你好！', weight: 0 },
    { role: 'user', content: '1+1=?' },
    { role: 'assistant', content: '1+1=2' },
  ];
  const a = tokenizer.encode('你是一个助手。[Round 0]\n问：你好\n答：你好！\n[Round 1]\n问：1+1=?\n答：');
  const b = tokenizer.encode('1+1=2');
  assert.deepEqual(template.generationPrompt(messages.slice(0, -1)), [...a, gmask, sop]);

  const example = template.trainingExample(messages);
  assert.deepEqual(example.inputIds, [...a, gmask, sop, ...b, eop]);
  assert.deepEqual(example.labels, [...a.map(() => IGNORE_INDEX), IGNORE_INDEX, sop, ...b, eop]);

  const everything = template.trainingExample(messages, { trainOnInputs: true });
  assert.deepEqual(everything.labels, everything.inputIds);

  const unweighted = template.trainingExample(messages.map((m, i) => (i === 4 ? { ...m, weight: 0 as const } : m)));
  assert.ok(unweighted.labels.every((label) => label === IGNORE_INDEX));
  const onlyInputs = template.trainingExample(messages.map((m, i) => (i === 4 ? { ...m, weight: 0 as const } : m)), { trainOnInputs: true });
  assert.deepEqual(onlyInputs.labels, [...a, gmask, ...[sop, ...b, eop].map(() => IGNORE_INDEX)]);
});

test('conversations v1 cannot express are refused', async () => {
  const { template } = await v1();
  const user: ChatMessage = { role: 'user', content: 'q' };
  const assistant: ChatMessage = { role: 'assistant', content: 'r' };
  assert.throws(() => template.trainingExample([user]), /must end with an assistant message/);
  assert.throws(() => template.generationPrompt([user, assistant]), /must end with a user message/);
  assert.throws(() => template.generationPrompt([{ role: 'observation', content: 'x' }]), /message 0 is observation/);
  assert.throws(() => template.generationPrompt([user, user, user]), /message 1 is user/);
  assert.throws(() => template.generationPrompt([{ role: 'system', content: 's' }, user, user, user]), /message 2 is user/);
  assert.throws(() => template.trainingExample([user, assistant], { maxLengths: { source: 4, target: 1 } }), /target ≥ 2/);
});
