// Fused transformer kernels (see kernels.h for each one's contract). Each replaces a chain of TF.js ops that
// read and write the whole tensor once per op with one pass over it, and computes its gradient directly.
//
// The addon is built without -march so that one build runs on any x86-64; the loops that carry the work
// are compiled for AVX-512, AVX2 and baseline x86-64 (target_clones; by feature, not by "arch=", whose
// resolver tests the CPU model and so picks the baseline on AMD), and the CPU picks at load time.
// exp is computed by expApprox below (rather than libm's expf, which does not vectorise) in every kernel.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define GLMTUNE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GLMTUNE_CLONES
#endif

namespace glmtune {

namespace {

// e^x to within 2 ulp for x in [-87, 88] (Cephes' expf: x = n·ln2 + r, a degree-6 polynomial for e^r,
// 2^n through the exponent bits), exactly 0 below -87 (masked scores, as expf underflows there), and
// branch-free so that the loops around it vectorise. std::min/max are avoided here and below: GCC does not
// inline them into the target clones.
__attribute__((always_inline)) inline float expApprox(float x) {
  const float c = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  // n = round(c / ln 2) by truncating a positive value (c / ln 2 > -126): no libm call, and not the
  // add-and-subtract-2²³ trick, which -fassociative-math folds away
  const int32_t ni = static_cast<int32_t>(c * 1.44269504088896341f + 128.5f) - 128;
  const float n = static_cast<float>(ni);
  float r = c - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (ni + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return x < -87.0f ? 0.0f : p * scale;
}

__attribute__((always_inline)) inline float sigmoid(float x) { return 1.0f / (1.0f + expApprox(-x)); }

// One row of softmax(x + mask): y = e^(x - max) / Σ; returns nothing, writes y.
GLMTUNE_CLONES void softmaxRow(const float* x, const float* mask, float* y, int64_t cols) {
  float max = -INFINITY;
  if (mask) {
    for (int64_t j = 0; j < cols; j++) y[j] = x[j] + mask[j];
  } else {
    for (int64_t j = 0; j < cols; j++) y[j] = x[j];
  }
#pragma omp simd reduction(max : max)
  for (int64_t j = 0; j < cols; j++) max = y[j] > max ? y[j] : max;
  float sum = 0.0f;
  for (int64_t j = 0; j < cols; j++) {
    y[j] = expApprox(y[j] - max);
    sum += y[j];
  }
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < cols; j++) y[j] *= inv;
}

// log Σ e^x of one row.
GLMTUNE_CLONES float logSumExpRow(const float* x, int64_t cols) {
  float max = -INFINITY;
#pragma omp simd reduction(max : max)
  for (int64_t j = 0; j < cols; j++) max = x[j] > max ? x[j] : max;
  float sum = 0.0f;
  for (int64_t j = 0; j < cols; j++) sum += expApprox(x[j] - max);
  return max + std::log(sum);
}

// Rotates the (even, odd) pairs of a head: out = x·cos + pair(x)·sin, pair(x0, x1) = (−x1, x0), times scale.
GLMTUNE_CLONES void rotateHead(const float* x, const float* cos, const float* sin, float* out, int64_t d, float scale) {
  for (int64_t i = 0; i < d; i += 2) {
    out[i] = (x[i] * cos[i] - x[i + 1] * sin[i]) * scale;
    out[i + 1] = (x[i + 1] * cos[i + 1] + x[i] * sin[i + 1]) * scale;
  }
}

// The transpose of rotateHead (its gradient).
GLMTUNE_CLONES void unrotateHead(const float* dy, const float* cos, const float* sin, float* dx, int64_t d, float scale) {
  for (int64_t i = 0; i < d; i += 2) {
    dx[i] = (dy[i] * cos[i] + dy[i + 1] * sin[i + 1]) * scale;
    dx[i + 1] = (dy[i + 1] * cos[i + 1] - dy[i] * sin[i]) * scale;
  }
}

}  // namespace

GLMTUNE_CLONES void rmsNormForward(const float* x, const float* w, float* y, float* rstd, int64_t rows, int64_t h,
                                   float eps) {
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * h;
    float* yr = y + r * h;
    float ss = 0.0f;
    for (int64_t j = 0; j < h; j++) ss += xr[j] * xr[j];
    const float s = 1.0f / std::sqrt(ss / static_cast<float>(h) + eps);
    rstd[r] = s;
    for (int64_t j = 0; j < h; j++) yr[j] = xr[j] * s * w[j];
  }
}

GLMTUNE_CLONES void rmsNormBackward(const float* dy, const float* x, const float* w, const float* rstd, float* dx,
                                    float* dw, int64_t rows, int64_t h) {
  std::fill(dw, dw + h, 0.0f);
  for (int64_t r = 0; r < rows; r++) {
    const float* dyr = dy + r * h;
    const float* xr = x + r * h;
    float* dxr = dx + r * h;
    const float s = rstd[r];
    // y = x·s·w with s = (mean(x²) + eps)^-½:  dx = s·(g − x·s²·mean(g·x)), g = dy·w;  dw = Σ_rows dy·x·s
    float gx = 0.0f;
    for (int64_t j = 0; j < h; j++) gx += dyr[j] * w[j] * xr[j];
    const float c = gx * s * s / static_cast<float>(h);
    for (int64_t j = 0; j < h; j++) {
      dxr[j] = s * (dyr[j] * w[j] - xr[j] * c);
      dw[j] += dyr[j] * xr[j] * s;
    }
  }
}

GLMTUNE_CLONES void swigluForward(const float* u, float* y, int64_t rows, int64_t f) {
  for (int64_t r = 0; r < rows; r++) {
    const float* a = u + r * 2 * f;
    const float* b = a + f;
    float* yr = y + r * f;
    for (int64_t j = 0; j < f; j++) yr[j] = a[j] * sigmoid(a[j]) * b[j];
  }
}

GLMTUNE_CLONES void swigluBackward(const float* dy, const float* u, float* du, int64_t rows, int64_t f) {
  for (int64_t r = 0; r < rows; r++) {
    const float* a = u + r * 2 * f;
    const float* b = a + f;
    const float* dyr = dy + r * f;
    float* da = du + r * 2 * f;
    float* db = da + f;
    for (int64_t j = 0; j < f; j++) {
      // y = a·σ(a)·b:  ∂y/∂a = σ(a)·(1 + a·(1 − σ(a)))·b,  ∂y/∂b = a·σ(a)
      const float s = sigmoid(a[j]);
      da[j] = dyr[j] * b[j] * s * (1.0f + a[j] * (1.0f - s));
      db[j] = dyr[j] * a[j] * s;
    }
  }
}

void rotarySplitForward(const float* qkv, const float* cos, const float* sin, float* q, float* k, float* v, int64_t batch,
                        int64_t seq, int64_t heads, int64_t groups, int64_t d, float qScale) {
  const int64_t width = (heads + 2 * groups) * d;
  for (int64_t b = 0; b < batch; b++) {
    for (int64_t t = 0; t < seq; t++) {
      const int64_t row = b * seq + t;
      const float* in = qkv + row * width;
      const float* c = cos + row * d;
      const float* s = sin + row * d;
      for (int64_t h = 0; h < heads; h++) rotateHead(in + h * d, c, s, q + ((b * heads + h) * seq + t) * d, d, qScale);
      for (int64_t g = 0; g < groups; g++) {
        const int64_t at = ((b * groups + g) * seq + t) * d;
        rotateHead(in + (heads + g) * d, c, s, k + at, d, 1.0f);
        std::memcpy(v + at, in + (heads + groups + g) * d, d * sizeof(float));
      }
    }
  }
}

void rotarySplitBackward(const float* dq, const float* dk, const float* dv, const float* cos, const float* sin, float* dqkv,
                         int64_t batch, int64_t seq, int64_t heads, int64_t groups, int64_t d, float qScale) {
  const int64_t width = (heads + 2 * groups) * d;
  for (int64_t b = 0; b < batch; b++) {
    for (int64_t t = 0; t < seq; t++) {
      const int64_t row = b * seq + t;
      float* out = dqkv + row * width;
      const float* c = cos + row * d;
      const float* s = sin + row * d;
      for (int64_t h = 0; h < heads; h++) unrotateHead(dq + ((b * heads + h) * seq + t) * d, c, s, out + h * d, d, qScale);
      for (int64_t g = 0; g < groups; g++) {
        const int64_t at = ((b * groups + g) * seq + t) * d;
        unrotateHead(dk + at, c, s, out + (heads + g) * d, d, 1.0f);
        std::memcpy(out + (heads + groups + g) * d, dv + at, d * sizeof(float));
      }
    }
  }
}

void softmaxForward(const float* x, const float* mask, float* y, int64_t matrices, int64_t maskMatrices, int64_t rows,
                    int64_t cols) {
  const int64_t share = mask ? matrices / maskMatrices : 1;
  for (int64_t m = 0; m < matrices; m++) {
    const float* maskM = mask ? mask + (m / share) * rows * cols : nullptr;
    for (int64_t r = 0; r < rows; r++) {
      const int64_t at = (m * rows + r) * cols;
      softmaxRow(x + at, maskM ? maskM + r * cols : nullptr, y + at, cols);
    }
  }
}

GLMTUNE_CLONES void softmaxBackward(const float* dy, const float* y, float* dx, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    const float* dyr = dy + r * cols;
    const float* yr = y + r * cols;
    float* dxr = dx + r * cols;
    float dot = 0.0f;
    for (int64_t j = 0; j < cols; j++) dot += dyr[j] * yr[j];
    for (int64_t j = 0; j < cols; j++) dxr[j] = yr[j] * (dyr[j] - dot);
  }
}

void softmaxCrossEntropyForward(const float* logits, const int32_t* targets, float* loss, float* lse, int64_t rows,
                                int64_t vocab) {
  for (int64_t r = 0; r < rows; r++) {
    const float* x = logits + r * vocab;
    lse[r] = logSumExpRow(x, vocab);
    const int32_t t = targets[r];
    loss[r] = t >= 0 && t < vocab ? lse[r] - x[t] : 0.0f;
  }
}

GLMTUNE_CLONES void softmaxCrossEntropyBackward(const float* logits, const float* lse, const int32_t* targets,
                                                const float* dloss, float* dlogits, int64_t rows, int64_t vocab) {
  for (int64_t r = 0; r < rows; r++) {
    const float* x = logits + r * vocab;
    float* dx = dlogits + r * vocab;
    const int32_t t = targets[r];
    const float g = t >= 0 && t < vocab ? dloss[r] : 0.0f;
    const float l = lse[r];
    for (int64_t j = 0; j < vocab; j++) dx[j] = g * expApprox(x[j] - l);
    if (t >= 0 && t < vocab) dx[t] -= g;
  }
}

GLMTUNE_CLONES void adamwUpdate(const float* p, const float* m, const float* v, const float* g, float* pOut, float* mOut,
                                float* vOut, int64_t n, const AdamWStep& s) {
  // Outputs may be their inputs (an in-place update): each element is read before it is written, and no
  // iteration reads another's output, which the pragma tells the vectoriser instead of a runtime alias check.
#pragma omp simd
  for (int64_t i = 0; i < n; i++) {
    const float m1 = s.beta1 * m[i] + (1.0f - s.beta1) * g[i];
    const float v1 = s.beta2 * v[i] + (1.0f - s.beta2) * g[i] * g[i];
    const float denom = std::sqrt(v1) / s.correction2Sqrt + s.eps;
    pOut[i] = p[i] * s.decay - m1 / denom * s.stepSize;
    mOut[i] = m1;
    vOut[i] = v1;
  }
}

GLMTUNE_CLONES double sumSquares(const float* x, int64_t n) {
  double sum = 0.0;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < n; i++) sum += static_cast<double>(x[i]) * x[i];
  return sum;
}

}  // namespace glmtune
