import test from 'node:test';
import assert from 'node:assert/strict';
import { byteTokenizer } from '../../src/model/tokenizers/byte.ts';
import { chatglm3Reference } from './fixtures.ts';

const utf8Ids = (text: string) => Array.from(Buffer.from(text, 'utf8'), (byte) => byte + 3);

test('glm-tiny ids: control ids 0–2, byte b → b + 3, then ChatGLM3 special tokens from 259', () => {
  assert.equal(byteTokenizer.vocabSize, 268);
  assert.equal(byteTokenizer.eosId, 2);
  assert.equal(byteTokenizer.padId, 0);
  assert.deepEqual({ ...byteTokenizer.specialTokens }, {
    '[MASK]': 259,
    '[gMASK]': 260,
    '[sMASK]': 261,
    sop: 262,
    eop: 263,
    '<|system|>': 264,
    '<|user|>': 265,
    '<|assistant|>': 266,
    '<|observation|>': 267,
  });
  assert.deepEqual(byteTokenizer.encode('\n'), [13]); // no dummy prefix
});

test('encoding is the UTF-8 bytes, and decoding round-trips Chinese, English and emoji', () => {
  for (const text of ['你好，世界！', 'The quick brown fox.', 'emoji 😀👍🏽 👨‍👩‍👧‍👦 🇨🇳', '']) {
    const ids = byteTokenizer.encode(text);
    assert.deepEqual(ids, utf8Ids(text));
    assert.equal(byteTokenizer.decode(ids), text);
  }
  for (const s of chatglm3Reference.strings) {
    assert.equal(byteTokenizer.decode(byteTokenizer.encode(s.text)), s.text, s.name);
    assert.equal(byteTokenizer.decode(byteTokenizer.encode(s.text, { specials: true })), s.text, s.name);
  }
});

test('with specials, literal special-token text becomes its id, including bare sop', () => {
  const ids = byteTokenizer.encode('Aesop<|user|>\nhi', { specials: true });
  assert.deepEqual(ids, [...utf8Ids('Ae'), 262, 265, ...utf8Ids('\nhi')]);
  assert.deepEqual(byteTokenizer.encode('<|user|>'), utf8Ids('<|user|>'));
  assert.deepEqual(byteTokenizer.encode('</s>', { specials: true }), utf8Ids('</s>'));
});

test('invalid UTF-8 decodes to U+FFFD and never throws; control ids decode to nothing', () => {
  const ni = utf8Ids('你'); // three bytes
  assert.equal(byteTokenizer.decode(ni.slice(0, 2)), '\uFFFD');
  assert.equal(byteTokenizer.decode([0xff + 3, ...utf8Ids('ok')]), '\uFFFDok');
  assert.equal(byteTokenizer.decode([0, 1, ...utf8Ids('a'), 2]), 'a');
  // A special id ends a run: a character cut by it is not joined across it. The two stray
  // continuation bytes after it are two errors, as in Python's errors="replace".
  assert.equal(byteTokenizer.decode([...ni.slice(0, 1), 265, ...ni.slice(1)]), '\uFFFD<|user|>\uFFFD\uFFFD');
});

test('decoding an id outside the vocabulary is a RangeError', () => {
  assert.throws(() => byteTokenizer.decode([268]), RangeError);
  assert.throws(() => byteTokenizer.decode([1.5]), RangeError);
});
