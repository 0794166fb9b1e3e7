// Half-precision storage formats to and from float32 (TF.js computes in float32 only).

export type StorageDtype = 'F32' | 'F16' | 'BF16';

export const BYTES_PER_ELEMENT: Readonly<Record<StorageDtype, number>> = { F32: 4, F16: 2, BF16: 2 };

/** bfloat16 is the top half of a float32: widening is exact. */
export function bf16ToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i] << 16;
  return out;
}

/** Round-to-nearest-even, as torch's `.to(torch.bfloat16)`; NaN stays NaN. */
export function f32ToBf16(values: Float32Array): Uint16Array {
  const inBits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = inBits[i];
    if ((x & 0x7fffffff) > 0x7f800000) {
      out[i] = (x >>> 16) | 0x40; // quiet NaN
    } else {
      out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
    }
  }
  return out;
}

export function f16ToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) out[i] = sign * frac * 2 ** -24; // zero and subnormals
    else if (exp === 0x1f) out[i] = frac ? NaN : sign * Infinity;
    else out[i] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return out;
}

/** Round-to-nearest-even float32 → float16, overflowing to ±Infinity as torch does. */
export function f32ToF16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (Number.isNaN(x)) {
      out[i] = 0x7e00;
      continue;
    }
    const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
    const a = Math.abs(x);
    if (a >= 65520) {
      out[i] = sign | 0x7c00; // rounds past the largest half (65504)
      continue;
    }
    if (a < 2 ** -14) {
      // subnormal half: units of 2^-24, ties to even
      out[i] = sign | roundHalfEven(a * 2 ** 24);
      continue;
    }
    const exp = Math.floor(Math.log2(a));
    const e = a < 2 ** exp ? exp - 1 : a >= 2 ** (exp + 1) ? exp + 1 : exp; // guard log2 rounding
    const mantissa = roundHalfEven((a / 2 ** e - 1) * 1024);
    // mantissa 1024 carries into the exponent, which the addition below does naturally
    out[i] = sign | (((e + 15) << 10) + mantissa);
  }
  return out;
}

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const r = v - f;
  if (r > 0.5) return f + 1;
  if (r < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
