// The line splitter gives the same lines however the bytes are cut into chunks.
import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LineSplitter } from '../../src/datasets/line-splitter.ts';

/** The lines as a whole-file split would give them: [number, text or null when too long]. */
function referenceLines(bytes: Uint8Array, maxLineBytes: number): Array<[number, string | null]> {
  const text = Buffer.from(bytes).toString('latin1');
  const pieces = (text.startsWith('\xef\xbb\xbf') ? text.slice(3) : text).split('\n');
  if (pieces[pieces.length - 1] === '') pieces.pop();
  return pieces.map((piece, i) => {
    const line = piece.endsWith('\r') ? piece.slice(0, -1) : piece;
    return [i + 1, line.length > maxLineBytes ? null : line];
  });
}

function splitterLines(chunks: Uint8Array[], maxLineBytes: number): Array<[number, string | null]> {
  const lines: Array<[number, string | null]> = [];
  const splitter = new LineSplitter(maxLineBytes, (n, bytes) => lines.push([n, bytes && Buffer.from(bytes).toString('latin1')]));
  for (const chunk of chunks) splitter.push(chunk);
  splitter.finish();
  assert.equal(splitter.lineNumber, lines.length);
  assert.equal(splitter.bytes, chunks.reduce((sum, c) => sum + c.length, 0));
  return lines;
}

test('random bytes cut at random points split like the whole file', () => {
  const byte = fc.constantFrom(0x0a, 0x0d, 0xef, 0xbb, 0xbf, 0x61, 0x62);
  fc.assert(
    fc.property(fc.array(byte, { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 10 }), fc.integer({ min: 0, max: 8 }), (list, cuts, maxLineBytes) => {
      const bytes = Uint8Array.from(list);
      const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      const chunks = [0, ...points].map((start, i) => bytes.subarray(start, [...points, bytes.length][i]));
      assert.deepEqual(splitterLines(chunks, maxLineBytes), referenceLines(bytes, maxLineBytes));
    }),
    { numRuns: 20_000, seed: 1 },
  );
});
