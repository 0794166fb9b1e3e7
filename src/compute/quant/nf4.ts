// NF4 (QLoRA, Dettmers et al. 2023): 4-bit codes into a 16-value "normal float" codebook, one absmax scale
// per block of 64 consecutive elements of the row-major flattened tensor. Bit-compatible with bitsandbytes
// for codes, absmax and dequantised values; test/fixtures/glm/reference.json (`nf4`) pins them down.
//
// Stored form (resident): codes plane-major in int32 words (./planes.ts), 8 per word, plus float32 absmax:
// 4 + 32/64 = 4.5 bits per weight, 0.5625 bytes. With double quantisation (./absmax-dq.ts) the absmax
// costs 8 bits per block plus 32 bits per 256 blocks: ≈4.127 bits per weight.
// Export form: bitsandbytes' bytes, element 2i in the high nibble and 2i+1 in the low nibble.

/** bitsandbytes' NF4 code values (float32), ascending; code 7 is exactly 0. */
export const NF4_CODEBOOK = Float32Array.of(
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
  -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
  0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
);
export const NF4_BLOCK_SIZE = 64;

// Decision points between neighbouring codes. A value exactly on one takes the lower code, as
// bitsandbytes' comparison tree does (`x > midpoint` goes up).
const MIDPOINTS = Array.from({ length: 15 }, (_, i) => (NF4_CODEBOOK[i] + NF4_CODEBOOK[i + 1]) / 2);

/** The nearest code to `x` in [-1, 1]: the number of midpoints below it (binary search). */
function nearestCode(x: number): number {
  let lo = 0, hi = 15;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x > MIDPOINTS[mid]) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface NF4Codes {
  /** One code (0–15) per element. */
  codes: Uint8Array;
  /** max |x| of each block; ceil(n / blockSize) values. */
  absmax: Float32Array;
}

export function quantizeNF4(values: ArrayLike<number>, blockSize = NF4_BLOCK_SIZE): NF4Codes {
  const n = values.length;
  const codes = new Uint8Array(n);
  const absmax = new Float32Array(Math.ceil(n / blockSize));
  for (let block = 0; block < absmax.length; block++) {
    const start = block * blockSize, end = Math.min(n, start + blockSize);
    let max = 0;
    for (let e = start; e < end; e++) max = Math.max(max, Math.abs(values[e]));
    absmax[block] = max;
    const scale = absmax[block]; // the float32 absmax, as stored
    for (let e = start; e < end; e++) codes[e] = scale === 0 ? 7 : nearestCode(Math.fround(values[e] / scale));
  }
  return { codes, absmax };
}

/**
 * out[e] = codebook[code e] · absmax[e / blockSize], from codes packed plane-major (packNibbles); the JS
 * twin of the native dequantNF4, used when the addon is absent.
 */
export function decodeNF4(packed: Int32Array, absmax: Float32Array, out: Float32Array, blockSize: number): void {
  const n = out.length, words = Math.ceil(n / 8);
  const table = new Float32Array(16);
  for (let plane = 0; plane < 8; plane++) {
    const first = plane * words, last = Math.min(n, first + words), shift = 4 * plane;
    for (let e = first; e < last;) {
      const block = Math.floor(e / blockSize), runEnd = Math.min(last, (block + 1) * blockSize);
      for (let i = 0; i < 16; i++) table[i] = NF4_CODEBOOK[i] * absmax[block];
      for (; e < runEnd; e++) out[e] = table[(packed[e - first] >>> shift) & 15];
    }
  }
}

/** bitsandbytes' packed bytes: element 2i in the high nibble, 2i+1 in the low one (an odd tail pads with 0). */
export function toBitsandbytesBytes(codes: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(Math.ceil(codes.length / 2));
  for (let e = 0; e < codes.length; e++) bytes[e >> 1] |= (codes[e] & 15) << (e & 1 ? 0 : 4);
  return bytes;
}

export function fromBitsandbytesBytes(bytes: Uint8Array, n: number): Uint8Array {
  const codes = new Uint8Array(n);
  for (let e = 0; e < n; e++) codes[e] = (bytes[e >> 1] >> (e & 1 ? 0 : 4)) & 15;
  return codes;
}
