// Server-Sent Events as OpenAI streams them: `data: {json}` events, `data: [DONE]` at the end, and an
// `data: {"error": …}` event when the stream fails after it started (the status is already sent).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, errors } from '../errors.ts';
import { GenerationAbandoned } from '../services/generation.ts';

/** Aborted when the client goes away before the whole response was sent (a disconnect cancels work). */
export function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}

/** Streams every event of `events` to the client, then [DONE]; an error becomes the last event. */
export async function sendEventStream(request: FastifyRequest, reply: FastifyReply, events: AsyncIterable<unknown>): Promise<void> {
  reply.hijack();
  const out = reply.raw;
  out.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-request-id': request.id });
  out.flushHeaders();
  const write = (data: unknown) => {
    if (!out.destroyed) out.write(`data: ${JSON.stringify(data)}\n\n`);
  };
  try {
    for await (const event of events) write(event);
    out.end('data: [DONE]\n\n');
  } catch (err) {
    if (err instanceof GenerationAbandoned) return void out.end(); // the client left
    if (!(err instanceof ApiError)) request.log.error({ err }, 'event stream failed');
    write((err instanceof ApiError ? err : errors.internal()).toBody());
    out.end();
  }
}

/** The whole response of a generation; undefined when the client left before it was ready. */
export async function unlessAbandoned<T>(reply: FastifyReply, response: Promise<T>): Promise<T | FastifyReply> {
  try {
    return await response;
  } catch (err) {
    if (err instanceof GenerationAbandoned) return reply.hijack(); // nobody to answer
    throw err;
  }
}
