// API keys: random secrets shown once; only their sha256 is stored. A key carries ~238 bits of
// entropy, so a fast hash is enough (no password-style stretching needed), and looking a key up by its
// hash makes the comparison independent of how much of a guess matches.
import { createHash, timingSafeEqual } from 'node:crypto';
import { randomBase62 } from '../ids.ts';

export const KEY_PREFIX = 'sk-glm-';

export function generateApiKey(): string {
  return KEY_PREFIX + randomBase62(40);
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** What listings show of a key: enough to tell keys apart, too little to use. */
export function displayPrefix(key: string): string {
  return key.slice(0, KEY_PREFIX.length + 4);
}

/** Constant-time comparison of two secrets of any length (used for the admin key from config). */
export function secretsEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}
