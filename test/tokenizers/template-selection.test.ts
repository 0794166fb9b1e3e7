import test from 'node:test';
import assert from 'node:assert/strict';
import type { ChatMessage } from '../../src/model/chat.ts';
import { IGNORE_INDEX } from '../../src/model/chat-templates/types.ts';
import { chatFamilyOf, templateFor } from '../../src/model/chat-templates/select.ts';
import { loadTokenizer } from '../../src/model/tokenizers/load.ts';
import { byteTokenizer } from '../../src/model/tokenizers/byte.ts';
import { createHfTokenizer } from '../../src/model/tokenizers/hf-tokenizer-json.ts';
import {
  CHATGLM3_MODEL,
  chatglm2Folder,
  chatglm3Folder,
  chatglm3Reference,
  glm4Folder,
  makeModelFolder,
} from './fixtures.ts';
import { smallByteLevelTokenizerJson } from './tokenizer-json-builders.ts';

test('the template follows the tokenizer family', async () => {
  const cases = [
    [chatglm2Folder(), 'chatglm2'],
    [chatglm3Folder(), 'chatglm3'],
    [glm4Folder(), 'glm4'],
  ] as const;
  for (const [folder, family] of cases) {
    const tokenizer = await loadTokenizer(folder);
    assert.equal(chatFamilyOf(tokenizer), family);
    assert.equal((await templateFor(folder, tokenizer)).name, family);
  }
  assert.equal((await templateFor({ tokenizer_class: 'GlmTuneByteTokenizer' }, byteTokenizer)).name, 'chatglm3');
});

test("a GLM model's chat_template renders generation prompts; training stays THUDM's", async () => {
  const chat_template =
    "{% for message in messages %}{% if loop.first %}[gMASK]sop<|{{ message['role'] }}|>\n {{ message['content'] }}{% else %}<|{{ message['role'] }}|>\n {{ message['content'] }}{% endif %}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";
  const folder = makeModelFolder({
    'tokenizer.model': { copy: CHATGLM3_MODEL },
    'tokenizer_config.json': { tokenizer_class: 'ChatGLMTokenizer', chat_template },
  });
  const template = await templateFor(folder, await loadTokenizer(folder));
  assert.equal(template.name, 'chatglm3+chat_template');
  const conversation = chatglm3Reference.conversations[0];
  const messages = conversation.messages.slice(0, conversation.generation.num_messages);
  assert.deepEqual(template.generationPrompt(messages), conversation.generation.input_ids);
  assert.deepEqual(template.trainingExample(conversation.messages).labels, conversation.training.labels);
});

// A ChatML-style model: no GLM special tokens, so its chat_template does everything.
const CHATML =
  "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
const chatml = createHfTokenizer(
  smallByteLevelTokenizerJson([], [
    { content: '<|im_start|>', special: true },
    { content: '<|im_end|>', special: true },
  ]),
  { eos_token: '<|im_end|>' },
);

test('a model of no GLM family uses its chat_template for generation and training', async () => {
  assert.equal(chatFamilyOf(chatml), undefined);
  const template = await templateFor({ chat_template: CHATML }, chatml);
  assert.equal(template.name, 'chat_template');
  const messages: ChatMessage[] = [
    { role: 'user', content: 'hi' },
    { role: 'assistant', content: 'hello' },
    { role: 'user', content: 'again' },
    { role: 'assistant', content: 'bye', weight: 0 },
  ];
  const special = (text: string) => chatml.encode(text, { specials: true });
  assert.deepEqual(template.generationPrompt(messages.slice(0, 1)), special('<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n'));

  const example = template.trainingExample(messages);
  assert.equal(chatml.decode(example.inputIds), '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nhello<|im_end|>\n<|im_start|>user\nagain<|im_end|>\n<|im_start|>assistant\nbye<|im_end|>\n');
  const targets = example.labels.filter((label) => label !== IGNORE_INDEX);
  assert.equal(chatml.decode(targets), 'hello<|im_end|>\n');
  const all = template.trainingExample(messages, { trainOnInputs: true });
  assert.equal(chatml.decode(all.labels.filter((label) => label !== IGNORE_INDEX)), chatml.decode(example.inputIds).replace('bye<|im_end|>\n', ''));
  assert.deepEqual(template.stopIds, [chatml.eosId]);
});

test('a chat_template that does not render as a growing text cannot label training examples', async () => {
  const reversed = "{% for m in messages|reverse %}{{ m['content'] }};{% endfor %}";
  const template = await templateFor({ chat_template: reversed }, chatml);
  assert.throws(
    () => template.trainingExample([{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }]),
    /growing text/,
  );
});

test('a tokenizer of no GLM family without a chat_template has no template', async () => {
  const folder = makeModelFolder({ 'tokenizer_config.json': { tokenizer_class: 'PreTrainedTokenizerFast' } });
  await assert.rejects(templateFor(folder, chatml), (e: Error) => e.message.includes(folder) && /no chat template/.test(e.message));
});
