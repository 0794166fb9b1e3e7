// N-API bindings: check the JS arguments (types, sizes, that every index stays inside its array), then call
// the kernels in kernels.h. Typed arrays are used in place (wasm heap views included): nothing is copied.
#include <cblas.h>
#include <napi.h>

#include <string>
#include <vector>

#include "args.h"
#include "kernels.h"

namespace glmtune {
// fused_addon.cc: the fused kernels' bindings.
void registerFused(Napi::Env env, Napi::Object exports);
}  // namespace glmtune

namespace {

using glmtune::fail;
using glmtune::intArg;
using glmtune::shapeArg;
using glmtune::typedArg;

// sgemm(a, b, c, batchA, batchB, m, n, k, transA, transB, bias | null): see sgemmBroadcast in kernels.h.
void Sgemm(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (info.Length() != 11) { fail(env, "sgemm takes 11 arguments"); return; }
  Napi::Float32Array a, b, c;
  std::vector<int64_t> batchA, batchB;
  int64_t m, n, k;
  if (!typedArg(info, 0, napi_float32_array, "a", &a) || !typedArg(info, 1, napi_float32_array, "b", &b) ||
      !typedArg(info, 2, napi_float32_array, "c", &c) || !shapeArg(info, 3, "batchA", &batchA) ||
      !shapeArg(info, 4, "batchB", &batchB) || !intArg(info, 5, "m", 1, &m) || !intArg(info, 6, "n", 1, &n) ||
      !intArg(info, 7, "k", 1, &k)) {
    return;
  }
  if (batchA.size() != batchB.size()) { fail(env, "batchA and batchB must have the same rank"); return; }
  int64_t countA = 1, countB = 1, countOut = 1;
  for (size_t i = 0; i < batchA.size(); i++) {
    if (batchA[i] != batchB[i] && batchA[i] != 1 && batchB[i] != 1) {
      fail(env, "batch dims do not broadcast");
      return;
    }
    countA *= batchA[i];
    countB *= batchB[i];
    countOut *= batchA[i] > batchB[i] ? batchA[i] : batchB[i];
  }
  if (static_cast<int64_t>(a.ElementLength()) < countA * m * k ||
      static_cast<int64_t>(b.ElementLength()) < countB * k * n ||
      static_cast<int64_t>(c.ElementLength()) < countOut * m * n) {
    fail(env, "sgemm: an array is shorter than its shape");
    return;
  }
  Napi::Float32Array bias;
  if (!info[10].IsNull()) {
    if (!typedArg(info, 10, napi_float32_array, "bias", &bias)) return;
    if (static_cast<int64_t>(bias.ElementLength()) != n) { fail(env, "sgemm: bias must have n values"); return; }
  }
  glmtune::sgemmBroadcast(a.Data(), b.Data(), c.Data(), batchA, batchB, m, n, k, info[8].ToBoolean(),
                          info[9].ToBoolean(), info[10].IsNull() ? nullptr : bias.Data());
}

// dequantNF4(packed: Int32Array, absmax: Float32Array, codebook: Float32Array(16), out: Float32Array, blockSize)
void DequantNF4(const Napi::CallbackInfo& info) {
  if (info.Length() != 5) { fail(info.Env(), "dequantNF4 takes 5 arguments"); return; }
  Napi::Int32Array packed;
  Napi::Float32Array absmax, codebook, out;
  int64_t blockSize;
  if (!typedArg(info, 0, napi_int32_array, "packed", &packed) ||
      !typedArg(info, 1, napi_float32_array, "absmax", &absmax) ||
      !typedArg(info, 2, napi_float32_array, "codebook", &codebook) ||
      !typedArg(info, 3, napi_float32_array, "out", &out) || !intArg(info, 4, "blockSize", 1, &blockSize)) {
    return;
  }
  const int64_t n = static_cast<int64_t>(out.ElementLength());
  if (codebook.ElementLength() != 16 || static_cast<int64_t>(packed.ElementLength()) < (n + 7) / 8 ||
      static_cast<int64_t>(absmax.ElementLength()) < (n + blockSize - 1) / blockSize) {
    fail(info.Env(), "dequantNF4: codebook must have 16 values, packed ceil(n/8), absmax ceil(n/blockSize)");
    return;
  }
  glmtune::dequantNF4(packed.Data(), absmax.Data(), codebook.Data(), out.Data(), n, blockSize);
}

// dequantInt8Rows(packed: Int32Array, scales: Float32Array, out: Float32Array, cols)
void DequantInt8Rows(const Napi::CallbackInfo& info) {
  if (info.Length() != 4) { fail(info.Env(), "dequantInt8Rows takes 4 arguments"); return; }
  Napi::Int32Array packed;
  Napi::Float32Array scales, out;
  int64_t cols;
  if (!typedArg(info, 0, napi_int32_array, "packed", &packed) ||
      !typedArg(info, 1, napi_float32_array, "scales", &scales) ||
      !typedArg(info, 2, napi_float32_array, "out", &out) || !intArg(info, 3, "cols", 1, &cols)) {
    return;
  }
  const int64_t n = static_cast<int64_t>(out.ElementLength());
  if (static_cast<int64_t>(packed.ElementLength()) < (n + 3) / 4 ||
      static_cast<int64_t>(scales.ElementLength()) < (n + cols - 1) / cols) {
    fail(info.Env(), "dequantInt8Rows: packed must have ceil(n/4) words, scales one per row");
    return;
  }
  glmtune::dequantInt8Rows(packed.Data(), scales.Data(), out.Data(), n, cols);
}

// OpenBLAS's thread count is process-wide: every thread of the process shares it.
void SetThreads(const Napi::CallbackInfo& info) {
  int64_t threads;
  if (info.Length() != 1 || !intArg(info, 0, "threads", 1, &threads)) return;
  openblas_set_num_threads(static_cast<int>(threads));
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), openblas_get_num_threads());
}

// What OpenBLAS was built as and which kernels it picked for this CPU (e.g. "Cooperlake", "Haswell").
Napi::Value Config(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("blas", Napi::String::New(info.Env(), openblas_get_config()));
  o.Set("coreType", Napi::String::New(info.Env(), openblas_get_corename()));
  o.Set("parallel", Napi::Number::New(info.Env(), openblas_get_parallel()));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("sgemm", Napi::Function::New(env, Sgemm, "sgemm"));
  exports.Set("dequantNF4", Napi::Function::New(env, DequantNF4, "dequantNF4"));
  exports.Set("dequantInt8Rows", Napi::Function::New(env, DequantInt8Rows, "dequantInt8Rows"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads, "getThreads"));
  exports.Set("config", Napi::Function::New(env, Config, "config"));
  glmtune::registerFused(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(glmtune_native, Init)
