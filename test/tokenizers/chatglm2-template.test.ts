import test from 'node:test';
import assert from 'node:assert/strict';
import type { ChatMessage } from '../../src/model/chat.ts';
import { IGNORE_INDEX } from '../../src/model/chat-templates/types.ts';
import { chatglm2Template } from '../../src/model/chat-templates/chatglm2.ts';
import { loadTokenizer } from '../../src/model/tokenizers/load.ts';
import { chatglm2Folder } from './fixtures.ts';

const chatglm2 = async () => {
  const tokenizer = await loadTokenizer(chatglm2Folder());
  return { tokenizer, template: chatglm2Template(tokenizer) };
};

const hello = '你好👋！我是人工智能助手 ChatGLM2-6B，很高兴见到你，欢迎问我任何问题。';

test('ChatGLM2 prompts are THUDM build_prompt text after [gMASK] sop', async () => {
  const { tokenizer, template } = await chatglm2();
  const prefix = [tokenizer.specialTokens['[gMASK]'], tokenizer.specialTokens.sop];
  const messages: ChatMessage[] = [
    { role: 'user', content: '你好' },
    { role: 'assistant', content: hello },
    { role: 'user', content: '晚上睡不着应该怎么办' },
  ];
  assert.deepEqual(
    template.generationPrompt(messages),
    [...prefix, ...tokenizer.encode(`[Round 1]\n\n问：你好\n\n答：${hello}\n\n[Round 2]\n\n问：晚上睡不着应该怎么办\n\n答：`)],
  );
  // Published ids of the same prompts (li-plus/chatglm.cpp, chatglm_test.cpp, Pipeline.ChatGLM2).
  assert.deepEqual(
    template.generationPrompt(messages.slice(0, 1)),
    [64790, 64792, 790, 30951, 517, 30910, 30939, 30996, 13, 13, 54761, 31211, 39701, 13, 13, 55437, 31211],
  );
  assert.deepEqual(template.generationPrompt(messages), [
    64790, 64792, 790, 30951, 517, 30910, 30939, 30996, 13, 13, 54761, 31211, 39701, 13, 13, 55437, 31211, 39701, 243,
    162, 148, 142, 31404, 33030, 34797, 42481, 22011, 10461, 30944, 30943, 30941, 30978, 30949, 31123, 48895, 35214,
    54622, 31123, 32616, 39905, 31901, 31639, 31155, 13, 13, 30995, 30951, 517, 30910, 30943, 30996, 13, 13, 54761,
    31211, 32820, 54266, 31876, 35153, 13, 13, 55437, 31211,
  ]);
  assert.deepEqual(template.stopIds, [tokenizer.eosId]);
});

test('ChatGLM2 training examples follow ptuning/main.py: the final reply and </s> are the labels', async () => {
  const { tokenizer, template } = await chatglm2();
  const messages: ChatMessage[] = [
    { role: 'system', content: '你是一个助手。' },
    { role: 'user', content: '你好' },
    { role: 'assistant', content: hello },
    { role: 'user', content: '晚上睡不着应该怎么办' },
    { role: 'assistant', content: '试试冥想。' },
  ];
  const prompt = template.generationPrompt(messages.slice(0, -1));
  assert.deepEqual(prompt.slice(2), tokenizer.encode(`你是一个助手。[Round 1]\n\n问：你好\n\n答：${hello}\n\n[Round 2]\n\n问：晚上睡不着应该怎么办\n\n答：`));
  const answer = [...tokenizer.encode('试试冥想。'), tokenizer.eosId];
  const example = template.trainingExample(messages);
  assert.deepEqual(example.inputIds, [...prompt, ...answer]);
  assert.deepEqual(example.labels, [...prompt.map(() => IGNORE_INDEX), ...answer]);

  const unweighted = template.trainingExample(messages.map((m, i) => (i === 4 ? { ...m, weight: 0 as const } : m)));
  assert.ok(unweighted.labels.every((label) => label === IGNORE_INDEX));
  const everything = template.trainingExample(messages, { trainOnInputs: true });
  assert.deepEqual(everything.labels, everything.inputIds);
});

test('ChatGLM2 rejects conversations its format cannot hold', async () => {
  const { template } = await chatglm2();
  const user: ChatMessage = { role: 'user', content: 'q' };
  const assistant: ChatMessage = { role: 'assistant', content: 'a' };
  assert.throws(() => template.trainingExample([user]), /must end with an assistant message/);
  assert.throws(() => template.generationPrompt([user, assistant]), /must end with a user message/);
  assert.throws(() => template.generationPrompt([user, { role: 'observation', content: '{}' }, user]), /message 1 is observation/);
  assert.throws(() => template.generationPrompt([user, { role: 'system', content: 's' }, user]), /message 1 is system/);
});
