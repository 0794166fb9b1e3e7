// Says where a line's JSON goes wrong, in words and a column: V8's own messages sometimes give no
// position ("Unexpected token '}', "…" is not valid JSON") and quote the whole line back. Without a
// throw, it also serves as a cheap syntax check (see JsonLineParser). Follows RFC 8259 exactly, as
// JSON.parse does; iterative, so depth costs no stack.

type Expecting = 'value' | 'value-or-close' | 'key' | 'key-or-close' | 'colon' | 'comma-or-close';

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const NUMBER_CHAR = /[0-9.eE+-]/;
const SIMPLE_ESCAPES = '"\\/bfnrt';
const HEX4 = /^[0-9a-fA-F]{4}$/;
const STRING_SPECIAL = /["\\\u0000-\u001f]/g;

/** The first syntax error in `text`, e.g. `expected "," or "}" at column 12, found "x"`; undefined if it is valid JSON. */
export function findJsonSyntaxError(text: string): string | undefined {
  const closers: string[] = []; // '}' or ']' for each open container
  let expecting: Expecting = 'value';
  let i = 0;
  for (;;) {
    while (i < text.length && isWhitespace(text.charCodeAt(i))) i++;
    if (i === text.length) {
      return expecting === 'comma-or-close' && closers.length === 0
        ? undefined
        : 'the line ends before the JSON value is complete';
    }
    const c = text[i];
    if (expecting === 'comma-or-close') {
      const closer = closers[closers.length - 1];
      if (closer === undefined) return `unexpected text after the JSON value at ${found(text, i)}`;
      if (c === ',') expecting = closer === '}' ? 'key' : 'value';
      else if (c === closer) closers.pop();
      else return `expected "," or "${closer}" at ${found(text, i)}`;
      i++;
    } else if (expecting === 'colon') {
      if (c !== ':') return `expected ":" after the property name at ${found(text, i)}`;
      expecting = 'value';
      i++;
    } else if ((expecting === 'key-or-close' && c === '}') || (expecting === 'value-or-close' && c === ']')) {
      closers.pop();
      expecting = 'comma-or-close';
      i++;
    } else if (expecting === 'key' || expecting === 'key-or-close') {
      if (c !== '"') return `expected a property name in double quotes at ${found(text, i)}`;
      const end = endOfString(text, i);
      if (typeof end === 'string') return end;
      expecting = 'colon';
      i = end;
    } else {
      const end = endOfValueStart(text, i);
      if (typeof end === 'string') return end;
      if (c === '{' || c === '[') {
        closers.push(c === '{' ? '}' : ']');
        expecting = c === '{' ? 'key-or-close' : 'value-or-close';
      } else {
        expecting = 'comma-or-close';
      }
      i = end;
    }
  }
}

function found(text: string, i: number): string {
  return `column ${i + 1}, found ${JSON.stringify(text[i])}`;
}

function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

/** Where a value starting at `i` ends (just past an opening bracket), or what is wrong with it. */
function endOfValueStart(text: string, i: number): number | string {
  const c = text[i];
  if (c === '{' || c === '[') return i + 1;
  if (c === '"') return endOfString(text, i);
  for (const literal of ['true', 'false', 'null']) if (text.startsWith(literal, i)) return i + literal.length;
  if (c === '-' || (c >= '0' && c <= '9')) {
    NUMBER.lastIndex = i;
    const end = NUMBER.test(text) ? NUMBER.lastIndex : i;
    if (end === i || NUMBER_CHAR.test(text[end] ?? '')) return `invalid number at column ${i + 1}`;
    return end;
  }
  return `expected a value at ${found(text, i)}`;
}

/** Where a string starting with the quote at `i` ends (just past the closing quote), or what is wrong with it. */
function endOfString(text: string, i: number): number | string {
  STRING_SPECIAL.lastIndex = i + 1;
  for (;;) {
    // Jump to the next quote, backslash or control character; everything between is plain text.
    const match = STRING_SPECIAL.exec(text);
    if (match === null) return `unterminated string starting at column ${i + 1}`;
    const j = match.index;
    const c = match[0];
    if (c === '"') return j + 1;
    if (c !== '\\') return `control character ${JSON.stringify(c)} inside a string at column ${j + 1} (write it as an escape)`;
    const escape = text[j + 1] ?? '';
    if (escape === 'u' && HEX4.test(text.slice(j + 2, j + 6))) STRING_SPECIAL.lastIndex = j + 6;
    else if (escape !== 'u' && escape !== '' && SIMPLE_ESCAPES.includes(escape)) STRING_SPECIAL.lastIndex = j + 2;
    else return `invalid escape ${JSON.stringify(text.slice(j, escape === 'u' ? j + 6 : j + 2))} at column ${j + 1}`;
  }
}
