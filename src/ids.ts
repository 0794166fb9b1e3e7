// Random, unguessable ids in OpenAI's style: a prefix and 24 base62 characters (~143 bits).
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 248 = 4·62: rejecting bytes ≥ 248 keeps every character equally likely.
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}

export type IdPrefix = 'org' | 'key' | 'file' | 'ftjob' | 'ftevent' | 'ftckpt';

export function newId(prefix: IdPrefix): string {
  return `${prefix}-${randomBase62(24)}`;
}
