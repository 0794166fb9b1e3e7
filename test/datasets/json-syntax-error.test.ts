// The JSON error locator agrees with JSON.parse on what is valid, and says where a line goes wrong.
import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { findJsonSyntaxError } from '../../src/datasets/json-syntax-error.ts';

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

test('finds an error exactly when JSON.parse fails', () => {
  // Valid JSON, then mutations of it (characters dropped, replaced, inserted), then JSON-ish noise.
  const tokens = fc.constantFrom('{', '}', '[', ']', ',', ':', '"', '\\', 'a', 'u', '0', '1', '-', '.', 'e', '+', ' ', 'true', 'null', 'fals', '\t', '\n', '\u0001', '\uFEFF', 'é');
  const noise = fc.array(tokens, { maxLength: 30 }).map((parts) => parts.join(''));
  const mutated = fc
    .tuple(fc.json(), fc.nat(), fc.option(tokens, { nil: '' }), fc.boolean())
    .map(([json, at, insert, drop]) => {
      const i = at % (json.length + 1);
      return json.slice(0, i) + insert + json.slice(drop ? i + 1 : i);
    });
  fc.assert(
    fc.property(fc.oneof(fc.json(), mutated, noise), (text) => {
      const error = findJsonSyntaxError(text);
      assert.equal(error === undefined, parses(text), `${JSON.stringify(text)}: ${error}`);
    }),
    { numRuns: 20_000, seed: 1 },
  );
});

test('names what was expected, what was found and the column', () => {
  assert.equal(findJsonSyntaxError('{"a":1,}'), 'expected a property name in double quotes at column 8, found "}"');
  assert.equal(findJsonSyntaxError('{"a" 1}'), 'expected ":" after the property name at column 6, found "1"');
  assert.equal(findJsonSyntaxError('{"a":1 "b":2}'), 'expected "," or "}" at column 8, found "\\""');
  assert.equal(findJsonSyntaxError('[1,]'), 'expected a value at column 4, found "]"');
  assert.equal(findJsonSyntaxError('{"a":1}}'), 'unexpected text after the JSON value at column 8, found "}"');
  assert.equal(findJsonSyntaxError('{"a":01}'), 'invalid number at column 6');
  assert.equal(findJsonSyntaxError('{"a":"b'), 'unterminated string starting at column 6');
  assert.equal(findJsonSyntaxError('{"a":"\\q"}'), 'invalid escape "\\\\q" at column 7');
  assert.equal(findJsonSyntaxError('{"a":"\\u12"}'), 'invalid escape "\\\\u12\\"}" at column 7');
  assert.equal(findJsonSyntaxError('{"a":"\t"}'), 'control character "\\t" inside a string at column 7 (write it as an escape)');
  assert.equal(findJsonSyntaxError('{"a":[1,2'), 'the line ends before the JSON value is complete');
  assert.equal(findJsonSyntaxError('{"a":tru}'), 'expected a value at column 6, found "t"');
});
