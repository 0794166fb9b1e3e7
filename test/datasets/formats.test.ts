// Each dataset format: detected, normalised to chat messages exactly, and its bad lines named.
import test from 'node:test';
import assert from 'node:assert/strict';
import type { ChatMessage } from '../../src/model/chat.ts';
import type { DatasetFormat } from '../../src/datasets/index.ts';
import { jsonl, messagesOf, onlyError, validate } from './helpers.ts';

interface Accepted {
  format: DatasetFormat;
  record: unknown;
  messages: ChatMessage[];
}

const accepted: Accepted[] = [
  {
    format: 'openai-chat',
    record: {
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello', weight: 0 },
        { role: 'user', content: [{ type: 'text', text: 'Two' }, { type: 'text', text: 'parts' }] },
        { role: 'assistant', content: 'Ok', weight: 1, name: 'bot' },
      ],
      metadata: { source: 'ignored' },
    },
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello', weight: 0 },
      { role: 'user', content: 'Two\nparts' },
      { role: 'assistant', content: 'Ok' },
    ],
  },
  {
    format: 'prompt-completion',
    record: { prompt: 'Say hi', completion: ' hi' },
    messages: [
      { role: 'user', content: 'Say hi' },
      { role: 'assistant', content: ' hi' },
    ],
  },
  {
    format: 'alpaca',
    record: {
      instruction: 'Translate',
      input: 'bonjour',
      output: 'hello',
      system: 'You translate.',
      history: [['q1', 'a1']],
    },
    messages: [
      { role: 'system', content: 'You translate.' },
      { role: 'user', content: 'q1' },
      { role: 'assistant', content: 'a1' },
      { role: 'user', content: 'Translate\nbonjour' },
      { role: 'assistant', content: 'hello' },
    ],
  },
  {
    format: 'alpaca',
    record: { instruction: 'Name a colour', input: '', output: 'Blue', system: '' },
    messages: [
      { role: 'user', content: 'Name a colour' },
      { role: 'assistant', content: 'Blue' },
    ],
  },
  {
    format: 'sharegpt',
    record: {
      system: 'Sys',
      conversations: [
        { from: 'human', value: 'q' },
        { from: 'gpt', value: 'a' },
        { from: 'user', value: 'q2' },
        { from: 'assistant', value: 'a2' },
      ],
    },
    messages: [
      { role: 'system', content: 'Sys' },
      { role: 'user', content: 'q' },
      { role: 'assistant', content: 'a' },
      { role: 'user', content: 'q2' },
      { role: 'assistant', content: 'a2' },
    ],
  },
  {
    format: 'chatglm3',
    record: {
      conversations: [
        { role: 'system', content: 'Sys' },
        { role: 'user', content: 'weather?' },
        { role: 'assistant', content: 'checking', loss: false },
        { role: 'observation', content: '{"temp": 20}' },
        { role: 'assistant', content: '20 degrees', loss: true },
      ],
    },
    messages: [
      { role: 'system', content: 'Sys' },
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: 'checking', weight: 0 },
      { role: 'observation', content: '{"temp": 20}' },
      { role: 'assistant', content: '20 degrees' },
    ],
  },
  {
    format: 'chatglm',
    record: { prompt: '你好', response: '你好！', history: [['早', '早上好']] },
    messages: [
      { role: 'user', content: '早' },
      { role: 'assistant', content: '早上好' },
      { role: 'user', content: '你好' },
      { role: 'assistant', content: '你好！' },
    ],
  },
  {
    format: 'adgen',
    record: { content: '类型#裙*颜色#蓝色', summary: '一条蓝色的裙子' },
    messages: [
      { role: 'user', content: '类型#裙*颜色#蓝色' },
      { role: 'assistant', content: '一条蓝色的裙子' },
    ],
  },
];

for (const { format, record, messages } of accepted) {
  test(`${format}: ${JSON.stringify(record).slice(0, 60)} is accepted and normalised`, async () => {
    const text = jsonl(record, record);
    const report = validate(text);
    assert.deepEqual(report.errors, []);
    assert.equal(report.ok, true);
    assert.equal(report.format, format);
    assert.equal(report.examples, 2);
    const characters = messages.reduce((sum, m) => sum + [...m.content].length, 0);
    assert.equal(report.characters, 2 * characters);
    assert.deepEqual(await messagesOf(text), [messages, messages]);
  });
}

test('characters count code points, so an emoji is one', () => {
  const report = validate(jsonl({ prompt: '😀', completion: 'ab' }));
  assert.equal(report.characters, 3);
});

test('a line that only one format fits is reported against that format', () => {
  assert.equal(onlyError(jsonl({ instruction: 'x' })), 'line 1: output is missing');
  assert.equal(onlyError(jsonl({ completion: 'x' })), 'line 1: prompt is missing');
  assert.equal(onlyError(jsonl({ response: 'x' })), 'line 1: prompt is missing');
  assert.equal(onlyError(jsonl({ summary: 'x' })), 'line 1: content is missing');
});

test('keys that fit no format are listed with the formats expected', () => {
  assert.match(onlyError(jsonl({ role: 'user', content: 'hi' })), /^line 1: no known format: found keys "role", "content"; expected "messages" \(OpenAI chat\)/);
  assert.match(onlyError(jsonl({})), /^line 1: no known format: found an empty object/);
  assert.equal(
    onlyError(jsonl({ prompt: 'x' })),
    'line 1: "prompt" without "completion" (prompt/completion format) or "response" (ChatGLM format)',
  );
});

test('an ambiguous line takes the format of the lines before it', () => {
  const report = validate(jsonl({ prompt: 'a', response: 'b' }, { prompt: 'c' }, { conversations: [] }));
  assert.equal(report.format, 'chatglm');
  assert.deepEqual(
    report.errors.map((e) => e.message),
    ['line 2: response is missing', 'line 3: looks like ShareGPT but earlier lines are ChatGLM (from line 1)'],
  );
  const chatglm3 = validate(jsonl({ conversations: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }] }, { conversations: [] }));
  assert.deepEqual(chatglm3.errors.map((e) => e.message), ['line 2: conversations is empty']);
});

test('mixed formats are reported at the first line that differs', () => {
  const report = validate(jsonl({ prompt: 'a', completion: 'b' }, { prompt: 'a', completion: 'b' }, { instruction: 'i', output: 'o' }));
  assert.equal(report.format, 'prompt-completion');
  assert.deepEqual(report.errors, [
    { line: 3, message: 'line 3: looks like Alpaca but earlier lines are prompt/completion (from line 1)' },
  ]);
});

const user = { role: 'user', content: 'q' };
const assistant = { role: 'assistant', content: 'a' };

// [record, the message it must produce]
const rejected: Array<[unknown, string]> = [
  // missing, empty and mistyped fields
  [{ messages: [] }, 'messages is empty'],
  [{ messages: {} }, 'messages must be an array, got an object'],
  [{ messages: [user, { role: 'assistant' }] }, 'messages[1].content is missing'],
  [{ messages: [user, { role: 'assistant', content: '' }] }, 'messages[1].content is empty'],
  [{ messages: [user, { role: 'assistant', content: ' \n ' }] }, 'messages[1].content is empty'],
  [{ messages: [user, { role: 'assistant', content: 7 }] }, 'messages[1].content must be a string or an array of text parts, got a number'],
  [{ messages: [{ content: 'q' }, assistant] }, 'messages[0].role is missing'],
  [{ messages: ['hi', assistant] }, 'messages[0] must be an object, got a string'],
  [{ prompt: '', completion: 'x' }, 'prompt is empty'],
  [{ prompt: 'x', completion: null }, 'completion must be a string, got null'],
  [{ instruction: 'i', input: 3, output: 'o' }, 'input must be a string, got a number'],
  [{ instruction: 'i', output: 'o', history: [['q']] }, 'history[0] must be a [query, answer] pair, got an array of 1'],
  [{ instruction: 'i', output: 'o', history: [['q', '']] }, 'history[0][1] is empty'],
  [{ prompt: 'p', response: 'r', history: 'none' }, 'history must be an array of [query, answer] pairs, got a string'],
  [{ content: 'c', summary: '' }, 'summary is empty'],
  [{ conversations: [{ from: 'human', value: 'q' }, { from: 'gpt' }] }, 'conversations[1].value is missing'],
  [{ conversations: [{ role: 'user', content: 'q' }, { role: 'assistant', content: [] }] }, 'conversations[1].content must be a string, got an array'],
  // unknown roles
  [{ messages: [user, { role: 'bot', content: 'a' }] }, 'messages[1].role is "bot", an unknown role (expected system, user or assistant)'],
  [{ messages: [{ role: 'observation', content: 'o' }] }, 'messages[0].role is "observation", an unknown role (expected system, user or assistant)'],
  [
    { conversations: [{ from: 'human', value: 'q' }, { from: 'bot', value: 'a' }] },
    'conversations[1].from is "bot", an unknown role (expected human, user, gpt, assistant, system or observation)',
  ],
  [
    { conversations: [{ role: 'user', content: 'q' }, { role: 'model', content: 'a' }] },
    'conversations[1].role is "model", an unknown role (expected system, user, assistant or observation)',
  ],
  // no assistant reply, turns out of order
  [{ messages: [{ role: 'system', content: 's' }, user] }, 'messages has no assistant reply'],
  [{ messages: [user, assistant, user] }, 'messages[2] is a user message with no assistant reply after it'],
  [{ messages: [user, user, assistant] }, 'messages[1] is a user message after a user message (expected assistant)'],
  [{ messages: [user, assistant, assistant] }, 'messages[2] is an assistant message after an assistant message (expected user or observation)'],
  [{ messages: [assistant] }, 'messages[0] is an assistant message; a conversation starts with a system or user message'],
  [{ messages: [user, { role: 'system', content: 's' }, assistant] }, 'messages[1] is a system message; a system message may only come first'],
  [
    { system: 's', conversations: [{ from: 'system', value: 's2' }, { from: 'human', value: 'q' }, { from: 'gpt', value: 'a' }] },
    'conversations[0] is a system message; a system message may only come first',
  ],
  [
    { conversations: [{ role: 'user', content: 'q' }, { role: 'observation', content: 'o' }, { role: 'assistant', content: 'a' }] },
    'conversations[1] is an observation message after a user message (expected assistant)',
  ],
  // weights
  [{ messages: [user, { ...assistant, weight: 0.5 }] }, 'messages[1].weight must be 0 or 1, got 0.5'],
  [{ messages: [user, { ...assistant, weight: '0' }] }, 'messages[1].weight must be 0 or 1, got a string'],
  [{ messages: [{ ...user, weight: 0 }, assistant] }, 'messages[0].weight is only allowed on assistant messages'],
  [{ conversations: [{ ...user, loss: false }, assistant] }, 'conversations[0].loss is only allowed on assistant messages'],
  [{ conversations: [user, { ...assistant, loss: 0 }] }, 'conversations[1].loss must be true or false, got a number'],
  // content parts
  [
    { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }, assistant] },
    'messages[0].content[0].type is "image_url"; only text parts are supported',
  ],
  [{ messages: [{ role: 'user', content: [{ type: 'text', text: '' }] }, assistant] }, 'messages[0].content is empty'],
  // tool calls
  [{ messages: [user, { role: 'assistant', content: null, tool_calls: [{ id: 'c' }] }] }, 'messages[1].tool_calls is given: tool and function calls are not supported yet'],
  [{ messages: [user, { ...assistant, function_call: { name: 'f' } }] }, 'messages[1].function_call is given: tool and function calls are not supported yet'],
  [{ messages: [user, assistant, { role: 'tool', content: 'r' }] }, 'messages[2].role is "tool": tool and function calls are not supported yet'],
  [{ messages: [user, assistant], tools: [{ type: 'function' }] }, 'tools is given: tool and function calls are not supported yet'],
  [
    { conversations: [{ from: 'human', value: 'q' }, { from: 'function_call', value: '{}' }] },
    'conversations[1].from is "function_call": tool and function calls are not supported yet',
  ],
  [{ conversations: [user, assistant], tools: [{ name: 'f' }] }, 'tools is given: tool and function calls are not supported yet'],
  [{ conversations: [user, { ...assistant, metadata: 'get_weather' }] }, 'conversations[1].metadata is given: tool and function calls are not supported yet'],
  [{ conversations: [user, assistant, { role: 'tool', content: 'r' }] }, 'conversations[2].role is "tool": tool and function calls are not supported yet'],
  // user text is quoted short, so a message stays one readable line
  [{ messages: [user, { role: 'x'.repeat(1000), content: 'a' }] }, `messages[1].role is "${'x'.repeat(40)}…", an unknown role (expected system, user or assistant)`],
];

for (const [record, message] of rejected) {
  test(`refused: ${message}`, () => {
    // A good line first, so the bad one is line 2 and the format is settled.
    const good = (record as Record<string, unknown>).messages !== undefined ? { messages: [user, assistant] } : undefined;
    const text = good ? jsonl(good, record) : jsonl(record);
    const report = validate(text);
    assert.equal(report.ok, false);
    assert.deepEqual(report.errors, [{ line: good ? 2 : 1, message: `line ${good ? 2 : 1}: ${message}` }]);
  });
}

test('empty tool fields mean no tools', async () => {
  const record = { messages: [user, { ...assistant, tool_calls: [], function_call: null }], tools: [] };
  assert.deepEqual(await messagesOf(jsonl(record)), [[{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }]]);
});
