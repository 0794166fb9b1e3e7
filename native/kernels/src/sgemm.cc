#include <cblas.h>

#include <cstdint>
#include <cstring>

#include "kernels.h"

namespace glmtune {

void sgemmBroadcast(const float* a, const float* b, float* c, const std::vector<int64_t>& batchA,
                    const std::vector<int64_t>& batchB, int64_t m, int64_t n, int64_t k, bool transA,
                    bool transB, const float* bias) {
  const CBLAS_TRANSPOSE ta = transA ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE tb = transB ? CblasTrans : CblasNoTrans;
  const int64_t lda = transA ? m : k, ldb = transB ? k : n;
  const size_t rank = batchA.size();

  int64_t countA = 1, countB = 1, countOut = 1;
  std::vector<int64_t> out(rank);
  for (size_t i = 0; i < rank; i++) {
    out[i] = batchA[i] > batchB[i] ? batchA[i] : batchB[i];
    countA *= batchA[i];
    countB *= batchB[i];
    countOut *= out[i];
  }
  float beta = 0.f;
  if (bias != nullptr) {
    for (int64_t row = 0; row < countOut * m; row++) std::memcpy(c + row * n, bias, n * sizeof(float));
    beta = 1.f;
  }
  // One B for every batch, A not broadcast and not transposed: the batches are consecutive row blocks of
  // one [countOut·M, K] matrix, so a single large GEMM does all of them (the Linear-layer case). BLAS takes
  // 32-bit sizes, hence the bound.
  if (countB == 1 && countA == countOut && !transA && countOut * m <= INT32_MAX) {
    if (countOut * m == 1) {
      // One row (decoding a token): a matrix-vector product streams B once, where GEMM would first pack all
      // of it (OpenBLAS 0.3.21 does not route such a GEMM to GEMV itself).
      if (transB) cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, 1.f, b, k, a, 1, beta, c, 1);
      else cblas_sgemv(CblasRowMajor, CblasTrans, k, n, 1.f, b, n, a, 1, beta, c, 1);
      return;
    }
    cblas_sgemm(CblasRowMajor, ta, tb, countOut * m, n, k, 1.f, a, lda, b, ldb, beta, c, n);
    return;
  }
  // Otherwise one GEMM per output batch; an odometer over the batch dims, size-1 dims read with stride 0.
  std::vector<int64_t> strideA(rank), strideB(rank), idx(rank, 0);
  for (int64_t i = static_cast<int64_t>(rank) - 1, sa = m * k, sb = k * n; i >= 0; i--) {
    strideA[i] = batchA[i] == 1 ? 0 : sa;
    strideB[i] = batchB[i] == 1 ? 0 : sb;
    sa *= batchA[i];
    sb *= batchB[i];
  }
  int64_t offA = 0, offB = 0;
  for (int64_t t = 0; t < countOut; t++) {
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.f, a + offA, lda, b + offB, ldb, beta, c + t * m * n, n);
    for (int64_t d = static_cast<int64_t>(rank) - 1; d >= 0; d--) {
      offA += strideA[d];
      offB += strideB[d];
      if (++idx[d] < out[d]) break;
      offA -= strideA[d] * out[d];
      offB -= strideB[d] * out[d];
      idx[d] = 0;
    }
  }
}

}  // namespace glmtune
