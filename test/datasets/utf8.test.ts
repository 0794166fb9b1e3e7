// UTF-8 checking agrees with the WHATWG fatal decoder and points at the bad sequence.
import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeUtf8, firstInvalidUtf8Byte } from '../../src/datasets/utf8.ts';

const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function fatalDecode(bytes: Uint8Array): string | undefined {
  try {
    return fatal.decode(bytes);
  } catch {
    return undefined;
  }
}

test('finds an invalid byte exactly when the fatal decoder fails, and decodes the same text otherwise', () => {
  // Valid text (U+FFFD included) with random bytes spliced in, and raw bytes biased to the multi-byte range.
  const valid = fc.string({ unit: 'binary' }).map((s) => new TextEncoder().encode(s + (s.length % 3 === 0 ? '\uFFFD' : '')));
  const spliced = fc
    .tuple(valid, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 3 }))
    .map(([bytes, at, insert]) => {
      const i = at % (bytes.length + 1);
      return new Uint8Array([...bytes.subarray(0, i), ...insert, ...bytes.subarray(i)]);
    });
  const raw = fc.array(fc.oneof(fc.integer({ min: 0x80, max: 0xff }), fc.integer({ min: 0, max: 0x7f })), { maxLength: 12 }).map((b) => Uint8Array.from(b));
  fc.assert(
    fc.property(fc.oneof(valid, spliced, raw), (bytes) => {
      const expected = fatalDecode(bytes);
      const at = firstInvalidUtf8Byte(bytes);
      assert.equal(at === -1, expected !== undefined, `[${bytes}] -> ${at}`);
      assert.equal(decodeUtf8(bytes), expected ?? at);
      // Everything before the reported byte is valid.
      if (at >= 0) assert.notEqual(fatalDecode(bytes.subarray(0, at)), undefined);
    }),
    { numRuns: 20_000, seed: 1 },
  );
});

test('points at the start of the bad sequence', () => {
  assert.equal(firstInvalidUtf8Byte(Uint8Array.from([0x61, 0xc3, 0x28])), 1); // bad continuation
  assert.equal(firstInvalidUtf8Byte(Uint8Array.from([0x61, 0xc0, 0xaf])), 1); // overlong "/"
  assert.equal(firstInvalidUtf8Byte(Uint8Array.from([0xe4, 0xbd, 0xa0, 0xe4, 0xbd])), 3); // cut short
  assert.equal(firstInvalidUtf8Byte(Uint8Array.from([0xf4, 0x90, 0x80, 0x80])), 0); // above U+10FFFF
  assert.equal(firstInvalidUtf8Byte(Uint8Array.from([0xe4, 0xbd, 0xa0])), -1);
  assert.equal(decodeUtf8(Uint8Array.from([0xef, 0xbf, 0xbd])), '\uFFFD'); // a genuine U+FFFD is text
});
