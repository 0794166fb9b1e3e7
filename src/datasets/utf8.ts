// UTF-8 decoding of one line, telling where the first invalid byte is.

// Replacement mode, not fatal: a fatal decoder throws, and a throw costs microseconds, which a file of
// millions of bad lines would multiply into minutes. ignoreBOM: a BOM is only skipped at the start of
// the file (by the line splitter); anywhere else it is kept, and JSON.parse rejects it.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** The line as text, or the offset of its first invalid byte. */
export function decodeUtf8(bytes: Uint8Array): string | number {
  const text = decoder.decode(bytes);
  // Every invalid sequence decodes to U+FFFD; a genuine U+FFFD does too, so only then are the bytes checked.
  if (!text.includes('\uFFFD')) return text;
  const invalid = firstInvalidUtf8Byte(bytes);
  return invalid === -1 ? text : invalid;
}

/**
 * Offset of the first byte of the first invalid UTF-8 sequence, or -1 when all is valid (the same
 * rules as the WHATWG decoder: no overlong forms, no surrogates, nothing above U+10FFFF).
 */
export function firstInvalidUtf8Byte(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    // Continuation bytes needed, and the allowed range of the first one (which rules out overlong
    // forms, surrogates and code points above U+10FFFF).
    let needed: number;
    let low = 0x80;
    let high = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) needed = 1;
    else if (b === 0xe0) [needed, low] = [2, 0xa0];
    else if (b === 0xed) [needed, high] = [2, 0x9f];
    else if (b >= 0xe1 && b <= 0xef) needed = 2;
    else if (b === 0xf0) [needed, low] = [3, 0x90];
    else if (b === 0xf4) [needed, high] = [3, 0x8f];
    else if (b >= 0xf1 && b <= 0xf3) needed = 3;
    else return i;
    if (i + needed >= bytes.length) return i;
    if (bytes[i + 1] < low || bytes[i + 1] > high) return i;
    for (let k = 2; k <= needed; k++) if ((bytes[i + k] & 0xc0) !== 0x80) return i;
    i += needed + 1;
  }
  return -1;
}
