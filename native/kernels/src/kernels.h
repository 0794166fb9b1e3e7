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

}  // namespace glmtune
