// The dashboard's Server-Sent Events reader (ui/src/api/sse.ts): events split anywhere across network
// reads (inside a multi-byte character too) come out whole, in order, and [DONE] ends the stream.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readEvents } from '../../ui/src/api/sse.ts';

async function collect(chunks: Uint8Array[]): Promise<string[]> {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  const out: string[] = [];
  for await (const data of readEvents(new Response(body))) out.push(data);
  return out;
}

const bytes = (text: string) => new TextEncoder().encode(text);

test('events cut into two reads at every byte come out whole, in order, until [DONE]', async () => {
  const stream = bytes('data: {"a":1}\n\ndata: {"b":"é 你好"}\n\n: a comment\n\ndata: {"c":3}\r\n\r\ndata: [DONE]\n\ndata: {"after":"done"}\n\n');
  const expected = ['{"a":1}', '{"b":"é 你好"}', '{"c":3}'];
  for (let cut = 0; cut <= stream.length; cut += 1) {
    assert.deepEqual(await collect([stream.slice(0, cut), stream.slice(cut)]), expected, `cut at byte ${cut}`);
  }
});

test('a stream that ends without [DONE] ends the reader; a multi-line data field is joined with newlines', async () => {
  assert.deepEqual(await collect([bytes('data: line one\ndata: line two\n\n'), bytes('data: last\n\n')]), ['line one\nline two', 'last']);
});
