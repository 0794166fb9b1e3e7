// Server-Sent Events over fetch. EventSource cannot send an Authorization header, and the key must
// never go into a URL, so streams are read from a fetch body instead.

/** Yields each event's `data:` payload until the stream ends; `[DONE]` ends it too. */
export async function* readEvents(response: Response): AsyncGenerator<string> {
  if (!response.body) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      // Events are separated by a blank line; a partial event stays in the buffer.
      let end: number;
      while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
        const data = block
          .split(/\r?\n/)
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).replace(/^ /, ''))
          .join('\n');
        if (data === '[DONE]') return;
        if (data !== '') yield data;
      }
    }
  } finally {
    reader.releaseLock();
  }
}
