// Double quantisation of NF4's absmax values (QLoRA §3): subtract their mean, then quantize them to 8-bit
// codes of bitsandbytes' signed dynamic map, with one float32 absmax per block of 256 — as bitsandbytes'
// quantize_4bit(compress_statistics=True) does. The map is rebuilt here in double precision and rounded to
// float32, so a value may differ from torch's float32 construction in the last bit; the double-quantized
// form is an internal storage format (never exported), so only self-consistency matters.

export const ABSMAX_DQ_BLOCK_SIZE = 256;

/** bitsandbytes' create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8): 256 ascending values. */
export const DYNAMIC_MAP = ((): Float32Array => {
  const maxExponentBits = 7, nonSignBits = 7;
  const data: number[] = [0, 1];
  for (let i = 0; i < maxExponentBits; i++) {
    const items = 2 ** (i + nonSignBits - maxExponentBits) + 1;
    const scale = 10 ** (-(maxExponentBits - 1) + i);
    for (let j = 0; j + 1 < items; j++) {
      const lo = 0.1 + (0.9 * j) / (items - 1), hi = 0.1 + (0.9 * (j + 1)) / (items - 1);
      data.push(scale * ((lo + hi) / 2), -scale * ((lo + hi) / 2));
    }
  }
  return Float32Array.from(data.sort((x, y) => x - y));
})();

export interface QuantizedAbsmax {
  /** 8-bit indices into DYNAMIC_MAP, one per NF4 block (stored packed with packBytes). */
  codes: Uint8Array;
  /** max |absmax − offset| of each block of 256 codes. */
  scales: Float32Array;
  /** The mean of the absmax values. */
  offset: number;
}

function nearest(x: number): number {
  let lo = 0, hi = DYNAMIC_MAP.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (DYNAMIC_MAP[mid] <= x) lo = mid;
    else hi = mid;
  }
  return x - DYNAMIC_MAP[lo] <= DYNAMIC_MAP[hi] - x ? lo : hi;
}

export function quantizeAbsmax(absmax: Float32Array): QuantizedAbsmax {
  let sum = 0;
  for (const v of absmax) sum += v;
  const offset = Math.fround(absmax.length ? sum / absmax.length : 0);
  const codes = new Uint8Array(absmax.length);
  const scales = new Float32Array(Math.ceil(absmax.length / ABSMAX_DQ_BLOCK_SIZE));
  for (let block = 0; block < scales.length; block++) {
    const start = block * ABSMAX_DQ_BLOCK_SIZE, end = Math.min(absmax.length, start + ABSMAX_DQ_BLOCK_SIZE);
    let max = 0;
    for (let i = start; i < end; i++) max = Math.max(max, Math.abs(absmax[i] - offset));
    scales[block] = max;
    for (let i = start; i < end; i++) codes[i] = nearest(max === 0 ? 0 : (absmax[i] - offset) / scales[block]);
  }
  return { codes, scales, offset };
}

/**
 * absmax[i] = DYNAMIC_MAP[code i] · scales[i / 256] + offset into `out` (one value per NF4 block), from codes
 * packed with packBytes. Small (1/64 of the weights), so JS is fast enough.
 */
export function decodeAbsmax(packedCodes: Int32Array, scales: Float32Array, offset: number, out: Float32Array): void {
  const words = Math.ceil(out.length / 4);
  for (let i = 0; i < out.length; i++) {
    const plane = Math.floor(i / words);
    const code = (packedCodes[i - plane * words] >>> (8 * plane)) & 255;
    out[i] = Math.fround(DYNAMIC_MAP[code] * scales[Math.floor(i / ABSMAX_DQ_BLOCK_SIZE)]) + offset;
  }
}
