// Plane-major packing of small integer codes into int32 words, the storage of every quantized weight here.
// With `words` = ceil(n / perWord), code j of word w (bits j·bits … j·bits+bits−1) is element j·words + w.
// Decoding plane j is then one shift and mask of consecutive words into consecutive outputs: a straight
// loop with no per-element branching, which compilers vectorise (native/kernels/src/dequant.cc).

function pack(codes: ArrayLike<number>, bits: 4 | 8): Int32Array {
  const perWord = 32 / bits, mask = (1 << bits) - 1;
  const words = Math.ceil(codes.length / perWord);
  const packed = new Int32Array(words);
  for (let e = 0; e < codes.length; e++) {
    const plane = Math.floor(e / words);
    packed[e - plane * words] |= (codes[e] & mask) << (plane * bits);
  }
  return packed;
}

function unpack(packed: Int32Array, n: number, bits: 4 | 8): Uint8Array {
  const words = Math.ceil(n / (32 / bits)), mask = (1 << bits) - 1;
  if (packed.length < words) throw new Error(`${n} codes of ${bits} bits need ${words} words, got ${packed.length}`);
  const codes = new Uint8Array(n);
  for (let e = 0; e < n; e++) {
    const plane = Math.floor(e / words);
    codes[e] = (packed[e - plane * words] >>> (plane * bits)) & mask;
  }
  return codes;
}

/** 4-bit codes (0–15), 8 per word. */
export const packNibbles = (codes: ArrayLike<number>): Int32Array => pack(codes, 4);
export const unpackNibbles = (packed: Int32Array, n: number): Uint8Array => unpack(packed, n, 4);
/** Bytes, 4 per word; int8 codes are stored as their two's-complement byte (read back with an Int8Array view). */
export const packBytes = (codes: Uint8Array | Int8Array): Int32Array => pack(codes, 8);
export const unpackBytes = (packed: Int32Array, n: number): Uint8Array => unpack(packed, n, 8);
