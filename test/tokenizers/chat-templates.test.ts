import test from 'node:test';
import assert from 'node:assert/strict';
import type { ChatMessage } from '../../src/model/chat.ts';
import type { Tokenizer } from '../../src/model/tokenizers/types.ts';
import type { ChatTemplate } from '../../src/model/chat-templates/types.ts';
import { IGNORE_INDEX } from '../../src/model/chat-templates/types.ts';
import { loadTokenizer } from '../../src/model/tokenizers/load.ts';
import { byteTokenizer } from '../../src/model/tokenizers/byte.ts';
import { chatglm3Template } from '../../src/model/chat-templates/chatglm3.ts';
import { glm4Template } from '../../src/model/chat-templates/glm4.ts';
import { jinjaTemplate } from '../../src/model/chat-templates/jinja.ts';
import {
  IGNORE_INDEX_IN_FIXTURES,
  chatglm3Folder,
  chatglm3Reference,
  glm4Folder,
  glm4Reference,
  type ReferenceConversation,
  type ReferenceTokenizer,
} from './fixtures.ts';

// THUDM's chat_template of chatglm3-6b (tokenizer_config.json, 2024 revision).
const CHATGLM3_JINJA =
  "{% for message in messages %}{% if loop.first %}[gMASK]sop<|{{ message['role'] }}|>\n {{ message['content'] }}{% else %}<|{{ message['role'] }}|>\n {{ message['content'] }}{% endif %}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";
// The message loop of glm-4-9b-chat's chat_template (its tools preamble left out: no fixture has tools).
const GLM4_JINJA =
  "[gMASK]<sop>{% for item in messages %}{% if item['content'] %}<|{{ item['role'] }}|>{{ item['metadata'] }}\n{{ item['content'] }}{% endif %}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";

const families: Array<{
  name: string;
  reference: ReferenceTokenizer;
  folder: () => string;
  template: (tokenizer: Tokenizer) => ChatTemplate;
  jinja: string;
}> = [
  { name: 'ChatGLM3', reference: chatglm3Reference, folder: chatglm3Folder, template: chatglm3Template, jinja: CHATGLM3_JINJA },
  { name: 'GLM-4', reference: glm4Reference, folder: glm4Folder, template: glm4Template, jinja: GLM4_JINJA },
];

/** Positions whose label is the token after an assistant turn's role token, up to the token after the turn. */
function turnLabelPositions(conversation: ReferenceConversation, messageIndex: number): number[] {
  const span = conversation.training.assistant_spans.find((s) => s.message_index === messageIndex)!;
  return Array.from({ length: span.end - span.start }, (_, k) => span.start + 1 + k);
}

for (const family of families) {
  test(`${family.name}: generation prompts and training examples reproduce the fixture conversations`, async (t) => {
    assert.equal(IGNORE_INDEX, IGNORE_INDEX_IN_FIXTURES);
    const tokenizer = await loadTokenizer(family.folder());
    const template = family.template(tokenizer);
    assert.equal(family.reference.conversations.length, 3);
    for (const conversation of family.reference.conversations) {
      await t.test(conversation.name, () => {
        const prompt = template.generationPrompt(conversation.messages.slice(0, conversation.generation.num_messages));
        assert.deepEqual(prompt, conversation.generation.input_ids);
        assert.equal(tokenizer.decode(prompt), conversation.generation.decoded);
        const example = template.trainingExample(conversation.messages);
        assert.deepEqual(example.inputIds, conversation.training.input_ids);
        assert.deepEqual(example.labels, conversation.training.labels);
        assert.equal(tokenizer.decode(example.inputIds), conversation.training.decoded);
        assert.equal(example.inputIds.at(-1), conversation.training.end_token_id);
      });
    }
  });

  test(`${family.name}: THUDM's chat_template rendered with jinja gives the same prompt ids`, async () => {
    const tokenizer = await loadTokenizer(family.folder());
    const jinja = jinjaTemplate(family.jinja, tokenizer, {});
    for (const conversation of family.reference.conversations) {
      const messages = conversation.messages.slice(0, conversation.generation.num_messages);
      assert.deepEqual(jinja.generationPrompt(messages), conversation.generation.input_ids, conversation.name);
      assert.deepEqual(
        tokenizer.encode(conversation.template_text.generation, { specials: true }),
        conversation.generation.input_ids,
        conversation.name,
      );
    }
  });

  test(`${family.name}: an assistant turn with weight 0 is not a target`, async () => {
    const tokenizer = await loadTokenizer(family.folder());
    const template = family.template(tokenizer);
    const conversation = family.reference.conversations.find((c) => c.training.assistant_spans.length === 2)!;
    const [first, second] = conversation.training.assistant_spans.map((s) => s.message_index);
    const messages = conversation.messages.map((m, i): ChatMessage => (i === first ? { ...m, weight: 0 } : m));
    const example = template.trainingExample(messages);
    assert.deepEqual(example.inputIds, conversation.training.input_ids);
    const dropped = new Set(turnLabelPositions(conversation, first));
    const expected = conversation.training.labels.map((label, i) => (dropped.has(i) ? IGNORE_INDEX : label));
    assert.deepEqual(example.labels, expected);
    assert.ok(turnLabelPositions(conversation, second).every((i) => example.labels[i] === example.inputIds[i]));
  });

  test(`${family.name}: trainOnInputs makes every token a target except weight-0 turns`, async () => {
    const tokenizer = await loadTokenizer(family.folder());
    const template = family.template(tokenizer);
    const conversation = family.reference.conversations[1];
    const all = template.trainingExample(conversation.messages, { trainOnInputs: true });
    assert.deepEqual(all.inputIds, conversation.training.input_ids);
    assert.deepEqual(all.labels, [IGNORE_INDEX, ...all.inputIds.slice(1)]);

    const first = conversation.training.assistant_spans[0].message_index;
    const messages = conversation.messages.map((m, i): ChatMessage => (i === first ? { ...m, weight: 0 } : m));
    const dropped = new Set(turnLabelPositions(conversation, first));
    const some = template.trainingExample(messages, { trainOnInputs: true });
    assert.deepEqual(some.labels, all.labels.map((label, i) => (dropped.has(i) ? IGNORE_INDEX : label)));
  });
}

test('ChatGLM3 keeps a message with empty content; GLM-4 leaves it out', async () => {
  const user: ChatMessage = { role: 'user', content: '你好' };
  const emptySystem: ChatMessage = { role: 'system', content: '' };

  const chatglm3 = await loadTokenizer(chatglm3Folder());
  const c3 = chatglm3Template(chatglm3);
  assert.deepEqual(c3.generationPrompt([emptySystem, user]), [
    ...chatglm3Reference.prefix_ids,
    chatglm3.specialTokens['<|system|>'],
    ...chatglm3.encode('\n'),
    ...c3.generationPrompt([user]).slice(2),
  ]);

  const glm4 = await loadTokenizer(glm4Folder());
  const g4 = glm4Template(glm4);
  assert.deepEqual(g4.generationPrompt([emptySystem, user]), g4.generationPrompt([user]));
  const answer: ChatMessage = { role: 'assistant', content: 'hi' };
  assert.deepEqual(g4.trainingExample([emptySystem, user, answer]), g4.trainingExample([user, answer]));
});

test('ChatGLM3 trains on observation turns; GLM-4 does not', async () => {
  const messages: ChatMessage[] = [
    { role: 'user', content: 'weather?' },
    { role: 'assistant', content: 'get_weather()' },
    { role: 'observation', content: '{"temp": 21}' },
    { role: 'assistant', content: '21 degrees' },
  ];
  for (const [folder, template, observationIsTarget] of [
    [chatglm3Folder, chatglm3Template, true],
    [glm4Folder, glm4Template, false],
  ] as const) {
    const tokenizer = await loadTokenizer(folder());
    const example = template(tokenizer).trainingExample(messages);
    const observation = tokenizer.encode('{"temp": 21}');
    const at = example.inputIds.findIndex((_, i) => observation.every((id, k) => example.inputIds[i + k] === id));
    const labelled = observation.every((id, k) => example.labels[at + k] === id);
    assert.equal(labelled, observationIsTarget);
  }
});

test("glm-tiny's byte tokenizer uses the ChatGLM3 format with a one-byte newline", () => {
  const template = chatglm3Template(byteTokenizer);
  const t = byteTokenizer.specialTokens;
  const bytes = (text: string) => byteTokenizer.encode(text);
  assert.deepEqual(template.generationPrompt([{ role: 'user', content: '你好' }]), [
    t['[gMASK]'], t.sop, t['<|user|>'], 13, ...bytes('你好'), t['<|assistant|>'],
  ]);
  const example = template.trainingExample([
    { role: 'user', content: 'hi' },
    { role: 'assistant', content: 'yo' },
  ]);
  assert.deepEqual(example.inputIds, [t['[gMASK]'], t.sop, t['<|user|>'], 13, ...bytes('hi'), t['<|assistant|>'], 13, ...bytes('yo'), 2]);
  assert.deepEqual(example.labels.slice(-4), [13, ...bytes('yo'), 2]);
  assert.ok(example.labels.slice(0, -4).every((label) => label === IGNORE_INDEX));
  assert.deepEqual(template.stopIds, [2, t['<|user|>'], t['<|observation|>']]);
});
