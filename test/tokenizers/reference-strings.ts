// One subtest per fixture string: plain and special-token encoding, and decoding of both, exactly.
import test from 'node:test';
import assert from 'node:assert/strict';
import type { Tokenizer } from '../../src/model/tokenizers/types.ts';
import type { ReferenceTokenizer } from './fixtures.ts';

export function testReferenceStrings(title: string, tokenizer: () => Promise<Tokenizer>, reference: ReferenceTokenizer): void {
  test(title, async (t) => {
    const tok = await tokenizer();
    assert.equal(reference.strings.length, 32);
    for (const s of reference.strings) {
      await t.test(s.name, () => {
        assert.deepEqual(tok.encode(s.text), s.ids, 'encode');
        assert.equal(tok.decode(s.ids), s.decoded, 'decode');
        assert.deepEqual(tok.encode(s.text, { specials: true }), s.ids_special, 'encode with specials');
        assert.equal(tok.decode(s.ids_special), s.decoded_special, 'decode of the special encoding');
      });
    }
  });
}
