// Every accepted dataset format, and every kind of bad line, through a real upload.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { call, uploadForm } from '../helpers/http.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let svc: TestService;
before(async () => {
  svc = await startTestService();
});
after(async () => {
  await svc.destroy();
});

const upload = async (lines: unknown[]) => {
  const content = lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n';
  const res = await call(`${svc.url}/v1/files`, { method: 'POST', key: svc.apiKey, body: uploadForm(content) });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
};

const formats: Record<string, unknown[]> = {
  'openai-chat': [
    { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello.', weight: 1 }] },
    { messages: [{ role: 'user', content: '1+1?' }, { role: 'assistant', content: '2' }] },
  ],
  'prompt-completion': [{ prompt: 'Capital of France?', completion: 'Paris' }],
  alpaca: [
    { instruction: 'Translate to English', input: '你好', output: 'Hello' },
    { instruction: 'Say hi', output: 'hi', history: [['q', 'a']] },
  ],
  sharegpt: [{ conversations: [{ from: 'human', value: 'Hi' }, { from: 'gpt', value: 'Hello' }] }],
  chatglm3: [{ conversations: [{ role: 'system', content: 'sys' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello', loss: true }] }],
  chatglm: [{ prompt: '你好', response: '你好！', history: [['在吗', '在']] }],
  adgen: [{ content: '类型#裙*颜色#红色', summary: '这条红色的裙子很漂亮。' }],
};

for (const [format, lines] of Object.entries(formats)) {
  test(`${format} files are accepted and recorded as ${format}`, async () => {
    const file = await upload(lines);
    assert.equal(file.status, 'processed');
    assert.equal(file.format, format);
    assert.equal(file.examples, lines.length);
    assert.ok(file.characters > 0);
    assert.equal(file.validation, null);
  });
}

const badLines: [string, unknown, RegExp][] = [
  ['invalid JSON', '{"messages": [', /invalid JSON/i],
  ['a line that is not an object', '[1, 2]', /object/i],
  ['an empty assistant message', { messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: '' }] }, /messages\[1\]\.content is empty/],
  ['an unknown role', { messages: [{ role: 'bot', content: 'q' }, { role: 'assistant', content: 'a' }] }, /unknown role/i],
  ['no assistant reply', { messages: [{ role: 'user', content: 'q' }] }, /assistant/i],
  ['a missing field', { messages: [{ role: 'user' }, { role: 'assistant', content: 'a' }] }, /messages\[0\]\.content/],
  ['a mixed format', { prompt: 'p', completion: 'c' }, /format|earlier lines/i],
];

test('each kind of bad line is reported with its line number, and the file is marked error', async () => {
  const good = formats['openai-chat'][1];
  for (const [what, bad, pattern] of badLines) {
    const file = await upload([good, good, bad, good]);
    assert.equal(file.status, 'error', what);
    assert.equal(file.examples, null, what);
    assert.equal(file.validation.error_count, 1, `${what}: ${JSON.stringify(file.validation)}`);
    assert.equal(file.validation.errors[0].line, 3, what);
    assert.match(file.validation.errors[0].message, /^line 3: /, what);
    assert.match(file.validation.errors[0].message, pattern, what);
    assert.match(file.status_details, /^Invalid training file: line 3: /, what);
  }
});

test('an empty file is an error without a line number', async () => {
  const res = await call(`${svc.url}/v1/files`, { method: 'POST', key: svc.apiKey, body: uploadForm('') });
  assert.equal(res.status, 200);
  assert.equal(res.body.status, 'error');
  assert.equal(res.body.bytes, 0);
  assert.equal(res.body.validation.errors[0].line, null);
});
