// A choice's text built token by token (as streamed) equals the text of all its tokens, with real
// tokenizers (ChatGLM3 SentencePiece, glm-tiny's bytes: characters split across tokens); stop strings
// end it before their first match; reply formats never take back what they showed.
import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { ChoiceText } from '../../src/inference/choice-text.ts';
import { chatReplyFormat, type ReplyFormat, VERBATIM } from '../../src/inference/reply-format.ts';
import { byteTokenizer } from '../../src/model/tokenizers/byte.ts';
import { loadTokenizer } from '../../src/model/tokenizers/load.ts';
import type { Tokenizer } from '../../src/model/tokenizers/types.ts';
import { chatglm3Folder } from '../tokenizers/fixtures.ts';

const sentencePiece = await loadTokenizer(chatglm3Folder());
const TEXT = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constantFrom('北京是中国的首都，拥有三千多年的历史。', 'The quick brown fox 🦊 jumps.\n\n  Done!', '你好！How are you?'));

/** Pushes every id (as a stream would), returns the pieces and the final text. */
function stream(tokenizer: Tokenizer, ids: number[], stops: string[] = [], format: ReplyFormat = VERBATIM) {
  const text = new ChoiceText((t) => tokenizer.decode(t), stops, format);
  const pieces: string[] = [];
  for (const id of ids) {
    pieces.push(text.push(id));
    if (text.stoppedBy !== undefined) break;
  }
  pieces.push(text.end());
  return { pieces, text };
}

for (const [name, tokenizer] of [['ChatGLM3 SentencePiece', sentencePiece], ['glm-tiny bytes', byteTokenizer]] as const) {
  test(`${name}: streamed pieces concatenate to the decoded text`, () => {
    fc.assert(
      fc.property(TEXT, (s) => {
        const ids = tokenizer.encode(s);
        const { pieces, text } = stream(tokenizer, ids);
        assert.equal(pieces.join(''), tokenizer.decode(ids));
        assert.equal(text.text, tokenizer.decode(ids));
        assert.ok(!pieces.slice(0, -1).some((p) => p.endsWith('\uFFFD') && !tokenizer.decode(ids).includes('\uFFFD')), 'no half character is shown');
      }),
      { numRuns: 200 },
    );
  });

  test(`${name}: the text ends before the first stop string, and nothing of it is ever shown`, () => {
    fc.assert(
      fc.property(TEXT, TEXT, fc.array(fc.string({ minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 4 }), (before, after, stops) => {
        const whole = before + stops[0] + after;
        const ids = tokenizer.encode(whole);
        const decoded = tokenizer.decode(ids);
        const { pieces, text } = stream(tokenizer, ids, stops);
        // The first stop completed as the text grows (the longer of two completed together).
        let expected = decoded;
        for (let end = 1; end <= decoded.length && expected === decoded; end++) {
          const done = stops.filter((s) => decoded.slice(0, end).endsWith(s)).sort((a, b) => b.length - a.length)[0];
          if (done !== undefined) expected = decoded.slice(0, end - done.length);
        }
        assert.equal(pieces.join(''), expected);
        assert.equal(text.stoppedBy !== undefined, stops.some((s) => decoded.includes(s)));
      }),
      { numRuns: 200 },
    );
  });
}

test('reply formats: what an unfinished reply shows is a prefix of the finished reply, whatever follows', () => {
  const formats = (['chatglm6b', 'chatglm2', 'chatglm3'] as const).map((family) => {
    const specials: Record<string, Record<string, number>> = { chatglm6b: { '[gMASK]': 1, '<sop>': 2 }, chatglm2: { '[gMASK]': 1, sop: 2 }, chatglm3: { '[gMASK]': 1, sop: 2, '<|user|>': 3, '<|assistant|>': 4 } };
    return chatReplyFormat({ ...byteTokenizer, specialTokens: specials[family] });
  });
  // Text rich in what the formats rewrite: whitespace, ASCII punctuation beside ideographs, the
  // placeholder, tokenization clean-up patterns.
  const piece = fc.constantFrom(' ', '\n', ',', '!', '?', ':', ';', '.', '中', '文', 'a', "'s", " n't", ' .', '[[训练时间]]', '[[训', '时间]]');
  const text = fc.array(piece, { maxLength: 30 }).map((p) => p.join(''));
  fc.assert(
    fc.property(text, text, (shown, rest) => {
      for (const format of formats) {
        const partial = format.partial(shown);
        const final = format.final(shown + rest);
        assert.ok(final.startsWith(partial), `${JSON.stringify(partial)} is not a prefix of ${JSON.stringify(final)}`);
      }
    }),
    { numRuns: 2000 },
  );
  assert.equal(formats[0].final(' 你好,世界 [[训练时间]] '), '你好，世界 2023年');
  assert.equal(formats[2].final('\n Paris. '), 'Paris.');
});
