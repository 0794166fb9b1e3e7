#include <algorithm>

#include "kernels.h"

namespace glmtune {

// Both layouts are plane-major so that each plane decodes with one shift for all its words: a straight
// loop the compiler vectorises. Within a plane, elements are walked in runs that share one scale.

void dequantNF4(const int32_t* packed, const float* absmax, const float* codebook, float* out, int64_t n,
                int64_t blockSize) {
  const int64_t words = (n + 7) / 8;
  for (int plane = 0; plane < 8; plane++) {
    const int64_t first = plane * words, last = std::min(n, first + words);
    const int shift = 4 * plane;
    for (int64_t e = first; e < last;) {
      const int64_t block = e / blockSize, runEnd = std::min(last, (block + 1) * blockSize);
      float table[16];  // the codebook scaled by this block's absmax: one lookup per element
      for (int i = 0; i < 16; i++) table[i] = codebook[i] * absmax[block];
      for (; e < runEnd; e++) out[e] = table[(static_cast<uint32_t>(packed[e - first]) >> shift) & 15u];
    }
  }
}

void dequantInt8Rows(const int32_t* packed, const float* scales, float* out, int64_t n, int64_t cols) {
  const int64_t words = (n + 3) / 4;
  for (int plane = 0; plane < 4; plane++) {
    const int64_t first = plane * words, last = std::min(n, first + words);
    const int shift = 8 * plane;
    for (int64_t e = first; e < last;) {
      const int64_t row = e / cols, runEnd = std::min(last, (row + 1) * cols);
      const float scale = scales[row];
      for (; e < runEnd; e++) out[e] = static_cast<float>(static_cast<int8_t>(packed[e - first] >> shift)) * scale;
    }
  }
}

}  // namespace glmtune
