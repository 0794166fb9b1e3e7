// Python's notion of whitespace (str.isspace), for THUDM code that calls str.strip(): it differs from
// JavaScript's trim() (Python also strips U+001C–U+001F and U+0085; JavaScript also strips U+FEFF).
const SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const LEADING = new RegExp(`^[${SPACE}]+`);
const TRAILING = new RegExp(`[${SPACE}]+$`);

/** Python's `text.lstrip()`. */
export const pythonLstrip = (text: string): string => text.replace(LEADING, '');

/** Python's `text.rstrip()`. */
export const pythonRstrip = (text: string): string => text.replace(TRAILING, '');

/** Python's `text.strip()`. */
export const pythonStrip = (text: string): string => pythonRstrip(pythonLstrip(text));
