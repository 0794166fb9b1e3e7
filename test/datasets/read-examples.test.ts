// The trainer's reader: examples in order with their line numbers, and a clear stop at a bad line.
import test from 'node:test';
import assert from 'node:assert/strict';
import { InvalidDatasetError, readExamples, type Example } from '../../src/datasets/index.ts';
import { bytesOf, jsonl, streamOf } from './helpers.ts';

async function collect(source: AsyncIterable<Uint8Array>): Promise<{ examples: Example[]; error?: InvalidDatasetError }> {
  const examples: Example[] = [];
  try {
    for await (const example of readExamples(source)) examples.push(example);
  } catch (error) {
    assert.ok(error instanceof InvalidDatasetError, String(error));
    return { examples, error };
  }
  return { examples };
}

test('yields each example with its line number, across chunk boundaries', async () => {
  const text = `${jsonl({ content: 'a', summary: 'b' })}\n${jsonl({ content: 'c', summary: 'd' })}`;
  for (const size of [1, 7, 1000]) {
    const { examples, error } = await collect(streamOf(bytesOf(text), size));
    assert.equal(error, undefined);
    assert.deepEqual(examples, [
      { line: 1, messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] },
      { line: 3, messages: [{ role: 'user', content: 'c' }, { role: 'assistant', content: 'd' }] },
    ]);
  }
});

test('stops at the first invalid line, after the examples before it', async () => {
  const text = jsonl({ prompt: 'a', completion: 'b' }, { prompt: 'a', completion: 'b' }, { prompt: 'a', completion: '' }, { prompt: 'x', completion: 'y' });
  const { examples, error } = await collect(streamOf(bytesOf(text)));
  assert.deepEqual(examples.map((e) => e.line), [1, 2]);
  assert.equal(error?.message, 'line 3: completion is empty');
  assert.equal(error?.line, 3);
});

test('an empty file, or one with only blank lines, is an error', async () => {
  const empty = await collect(streamOf(new Uint8Array(0)));
  assert.equal(empty.error?.message, 'the file is empty (0 bytes)');
  assert.equal(empty.error?.line, undefined);
  assert.equal((await collect(streamOf(bytesOf('\n\n')))).error?.message, 'the file has no examples');
});

test('reads lazily: the source is pulled only as examples are consumed', async () => {
  let pulled = 0;
  async function* source() {
    for (let i = 0; i < 1000; i++) {
      pulled++;
      yield bytesOf(jsonl({ prompt: `p${i}`, completion: 'c' }));
    }
  }
  for await (const example of readExamples(source())) {
    assert.equal(example.line, 1);
    break;
  }
  assert.equal(pulled, 1);
});
