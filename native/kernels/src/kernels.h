// The compute kernels, free of N-API: addon.cc validates JS arguments and calls these.
#pragma once
#include <cstdint>
#include <vector>

namespace glmtune {

// C[...batchOut, M, N] = op(A)[...batchA, M, K] · op(B)[...batchB, K, N], row-major, where op transposes the
// last two dims when trans* is set (A is then stored [..., K, M], B [..., N, K]). batchA and batchB have the
// same rank; each dim equals batchOut's or is 1 (numpy broadcasting: a size-1 dim is read with stride 0).
// A non-null bias (length N) is added to every row of C: C starts as the bias and BLAS accumulates onto it.
void sgemmBroadcast(const float* a, const float* b, float* c, const std::vector<int64_t>& batchA,
                    const std::vector<int64_t>& batchB, int64_t m, int64_t n, int64_t k, bool transA,
                    bool transB, const float* bias);

// NF4, plane-major: of words = ceil(n/8) int32 words, nibble j (bits 4j..4j+3) of word w holds the code of
// element j·words + w. out[e] = codebook[code(e)] · absmax[e / blockSize] for e < n.
void dequantNF4(const int32_t* packed, const float* absmax, const float* codebook, float* out, int64_t n,
                int64_t blockSize);

// int8, plane-major: of words = ceil(n/4) int32 words, byte j (bits 8j..8j+7, two's complement) of word w
// holds element j·words + w. out[e] = int8(e) · scales[e / cols] (one scale per row of `cols` elements).
void dequantInt8Rows(const int32_t* packed, const float* scales, float* out, int64_t n, int64_t cols);

// --- Fused transformer kernels (fused.cc). Row-major; every pointer holds at least the values named. ---

// RMSNorm of x [rows, h] with weight w [h]: y = x·rstd·w, rstd[r] = (mean(x[r]²) + eps)^-½ (kept for backward).
void rmsNormForward(const float* x, const float* w, float* y, float* rstd, int64_t rows, int64_t h, float eps);
// Its gradient: dx [rows, h] and dw [h] from dy [rows, h], x, w and the forward's rstd.
void rmsNormBackward(const float* dy, const float* x, const float* w, const float* rstd, float* dx, float* dw, int64_t rows,
                     int64_t h);

// SwiGLU of u [rows, 2f] = [a | b]: y [rows, f] = silu(a)·b; backward: du [rows, 2f] from dy [rows, f] and u.
void swigluForward(const float* u, float* y, int64_t rows, int64_t f);
void swigluBackward(const float* dy, const float* u, float* du, int64_t rows, int64_t f);

// Splits a fused qkv [batch·seq, (heads + 2·groups)·d] into attention's layout with the rotary embedding applied:
// q [batch, heads, seq, d] (rotated, times qScale), k [batch, groups, seq, d] (rotated), v [batch, groups, seq, d].
// Rotation on interleaved pairs: out[2i] = x[2i]·cos[2i] − x[2i+1]·sin[2i], out[2i+1] = x[2i+1]·cos[2i+1] + x[2i]·sin[2i+1],
// with cos/sin [batch·seq, d] (cos 1 and sin 0 on dims that do not rotate). Backward: the transposed map into dqkv.
void rotarySplitForward(const float* qkv, const float* cos, const float* sin, float* q, float* k, float* v, int64_t batch,
                        int64_t seq, int64_t heads, int64_t groups, int64_t d, float qScale);
void rotarySplitBackward(const float* dq, const float* dk, const float* dv, const float* cos, const float* sin, float* dqkv,
                         int64_t batch, int64_t seq, int64_t heads, int64_t groups, int64_t d, float qScale);

// Row softmax of x [matrices, rows, cols] + mask [maskMatrices, rows, cols] (mask may be null); consecutive runs of
// matrices / maskMatrices matrices share one mask matrix. Backward: dx = y·(dy − Σ dy·y) per row.
void softmaxForward(const float* x, const float* mask, float* y, int64_t matrices, int64_t maskMatrices, int64_t rows,
                    int64_t cols);
void softmaxBackward(const float* dy, const float* y, float* dx, int64_t rows, int64_t cols);

// Cross-entropy of each row of logits [rows, vocab] against targets [rows]: loss = lse − logits[target], with
// lse = log Σ e^logits kept for backward; a target outside [0, vocab) gives loss 0 and no gradient.
// Backward: dlogits = dloss[r]·(softmax − onehot(target)).
void softmaxCrossEntropyForward(const float* logits, const int32_t* targets, float* loss, float* lse, int64_t rows,
                                int64_t vocab);
void softmaxCrossEntropyBackward(const float* logits, const float* lse, const int32_t* targets, const float* dloss,
                                 float* dlogits, int64_t rows, int64_t vocab);

// One AdamW update of n values, torch.optim.AdamW's arithmetic (src/trainer/optim/adamw.ts):
// m' = β1·m + (1−β1)·g; v' = β2·v + (1−β2)·g²; p' = p·decay − stepSize·m' / (√v' / correction2Sqrt + eps).
// pOut, mOut, vOut may be p, m, v themselves (in place).
struct AdamWStep {
  float beta1, beta2, eps, stepSize, correction2Sqrt, decay;
};
void adamwUpdate(const float* p, const float* m, const float* v, const float* g, float* pOut, float* mOut, float* vOut,
                 int64_t n, const AdamWStep& step);

// Σ x² (accumulated in double): a gradient's squared L2 norm, for global-norm clipping.
double sumSquares(const float* x, int64_t n);

}  // namespace glmtune
