// N-API bindings of the fused kernels (fused.cc): every size is checked against its array before the kernel
// touches memory. Arrays are used in place (wasm heap views included).
#include <napi.h>

#include <string>

#include "args.h"
#include "kernels.h"

namespace glmtune {

namespace {

// Reads one call's arguments by position. The first problem throws a TypeError naming the argument; after it,
// reads return null/0 and ok() is false, so a binding reads everything and then checks once.
class Args {
 public:
  Args(const Napi::CallbackInfo& info, size_t count, const char* name) : info_(info), name_(name) {
    if (info.Length() != count) ok_ = fail(info.Env(), std::string(name) + " takes " + std::to_string(count) + " arguments");
  }

  bool ok() const { return ok_; }

  int64_t integer(size_t i, const char* what, int64_t min = 1) {
    int64_t v = 0;
    if (ok_ && !intArg(info_, i, what, min, &v)) ok_ = false;
    return v;
  }

  float number(size_t i, const char* what) {
    if (!ok_) return 0;
    if (!info_[i].IsNumber()) {
      ok_ = fail(info_.Env(), std::string(what) + " must be a number");
      return 0;
    }
    return info_[i].As<Napi::Number>().FloatValue();
  }

  float* f32(size_t i, const char* what, int64_t length) { return array<float>(i, what, length, napi_float32_array); }

  const int32_t* i32(size_t i, const char* what, int64_t length) {
    return array<int32_t>(i, what, length, napi_int32_array);
  }

  float* f32OrNull(size_t i, const char* what, int64_t length) {
    return ok_ && info_[i].IsNull() ? nullptr : f32(i, what, length);
  }

  void require(bool condition, const char* message) {
    if (ok_ && !condition) ok_ = fail(info_.Env(), std::string(name_) + ": " + message);
  }

 private:
  template <typename T>
  T* array(size_t i, const char* what, int64_t length, napi_typedarray_type type) {
    if (!ok_) return nullptr;
    Napi::TypedArrayOf<T> a;
    if (!typedArg(info_, i, type, what, &a)) {
      ok_ = false;
      return nullptr;
    }
    if (static_cast<int64_t>(a.ElementLength()) < length) {
      ok_ = fail(info_.Env(), std::string(name_) + ": " + what + " has " + std::to_string(a.ElementLength()) +
                                  " values, needs " + std::to_string(length));
      return nullptr;
    }
    return a.Data();
  }

  const Napi::CallbackInfo& info_;
  const char* name_;
  bool ok_ = true;
};

// rmsNorm(x, w, y, rstd, rows, h, eps)
void RmsNorm(const Napi::CallbackInfo& info) {
  Args a(info, 7, "rmsNorm");
  const int64_t rows = a.integer(4, "rows"), h = a.integer(5, "h");
  const float eps = a.number(6, "eps");
  const float *x = a.f32(0, "x", rows * h), *w = a.f32(1, "w", h);
  float *y = a.f32(2, "y", rows * h), *rstd = a.f32(3, "rstd", rows);
  if (a.ok()) rmsNormForward(x, w, y, rstd, rows, h, eps);
}

// rmsNormGrad(dy, x, w, rstd, dx, dw, rows, h)
void RmsNormGrad(const Napi::CallbackInfo& info) {
  Args a(info, 8, "rmsNormGrad");
  const int64_t rows = a.integer(6, "rows"), h = a.integer(7, "h");
  const float *dy = a.f32(0, "dy", rows * h), *x = a.f32(1, "x", rows * h), *w = a.f32(2, "w", h), *rstd = a.f32(3, "rstd", rows);
  float *dx = a.f32(4, "dx", rows * h), *dw = a.f32(5, "dw", h);
  if (a.ok()) rmsNormBackward(dy, x, w, rstd, dx, dw, rows, h);
}

// swiglu(u, y, rows, f)
void Swiglu(const Napi::CallbackInfo& info) {
  Args a(info, 4, "swiglu");
  const int64_t rows = a.integer(2, "rows"), f = a.integer(3, "f");
  const float* u = a.f32(0, "u", rows * 2 * f);
  float* y = a.f32(1, "y", rows * f);
  if (a.ok()) swigluForward(u, y, rows, f);
}

// swigluGrad(dy, u, du, rows, f)
void SwigluGrad(const Napi::CallbackInfo& info) {
  Args a(info, 5, "swigluGrad");
  const int64_t rows = a.integer(3, "rows"), f = a.integer(4, "f");
  const float *dy = a.f32(0, "dy", rows * f), *u = a.f32(1, "u", rows * 2 * f);
  float* du = a.f32(2, "du", rows * 2 * f);
  if (a.ok()) swigluBackward(dy, u, du, rows, f);
}

// rotarySplit(qkv, cos, sin, q, k, v, batch, seq, heads, groups, d, qScale) and
// rotarySplitGrad(dq, dk, dv, cos, sin, dqkv, batch, seq, heads, groups, d, qScale)
template <bool Grad>
void RotarySplit(const Napi::CallbackInfo& info) {
  Args a(info, 12, Grad ? "rotarySplitGrad" : "rotarySplit");
  const int64_t batch = a.integer(6, "batch"), seq = a.integer(7, "seq"), heads = a.integer(8, "heads");
  const int64_t groups = a.integer(9, "groups"), d = a.integer(10, "d");
  const float qScale = a.number(11, "qScale");
  a.require(d % 2 == 0, "d must be even");
  const int64_t rows = batch * seq, width = (heads + 2 * groups) * d;
  const float *cos = a.f32(Grad ? 3 : 1, "cos", rows * d), *sin = a.f32(Grad ? 4 : 2, "sin", rows * d);
  if (Grad) {
    const float *dq = a.f32(0, "dq", rows * heads * d), *dk = a.f32(1, "dk", rows * groups * d), *dv = a.f32(2, "dv", rows * groups * d);
    float* dqkv = a.f32(5, "dqkv", rows * width);
    if (a.ok()) rotarySplitBackward(dq, dk, dv, cos, sin, dqkv, batch, seq, heads, groups, d, qScale);
  } else {
    const float* qkv = a.f32(0, "qkv", rows * width);
    float *q = a.f32(3, "q", rows * heads * d), *k = a.f32(4, "k", rows * groups * d), *v = a.f32(5, "v", rows * groups * d);
    if (a.ok()) rotarySplitForward(qkv, cos, sin, q, k, v, batch, seq, heads, groups, d, qScale);
  }
}

// softmax(x, mask | null, y, matrices, maskMatrices, rows, cols)
void Softmax(const Napi::CallbackInfo& info) {
  Args a(info, 7, "softmax");
  const int64_t matrices = a.integer(3, "matrices"), maskMatrices = a.integer(4, "maskMatrices");
  const int64_t rows = a.integer(5, "rows"), cols = a.integer(6, "cols");
  a.require(matrices % maskMatrices == 0, "maskMatrices must divide matrices");
  const float* x = a.f32(0, "x", matrices * rows * cols);
  const float* mask = a.f32OrNull(1, "mask", maskMatrices * rows * cols);
  float* y = a.f32(2, "y", matrices * rows * cols);
  if (a.ok()) softmaxForward(x, mask, y, matrices, maskMatrices, rows, cols);
}

// softmaxGrad(dy, y, dx, rows, cols)
void SoftmaxGrad(const Napi::CallbackInfo& info) {
  Args a(info, 5, "softmaxGrad");
  const int64_t rows = a.integer(3, "rows"), cols = a.integer(4, "cols");
  const float *dy = a.f32(0, "dy", rows * cols), *y = a.f32(1, "y", rows * cols);
  float* dx = a.f32(2, "dx", rows * cols);
  if (a.ok()) softmaxBackward(dy, y, dx, rows, cols);
}

// softmaxCrossEntropy(logits, targets, loss, lse, rows, vocab)
void SoftmaxCrossEntropy(const Napi::CallbackInfo& info) {
  Args a(info, 6, "softmaxCrossEntropy");
  const int64_t rows = a.integer(4, "rows"), vocab = a.integer(5, "vocab");
  const float* logits = a.f32(0, "logits", rows * vocab);
  const int32_t* targets = a.i32(1, "targets", rows);
  float *loss = a.f32(2, "loss", rows), *lse = a.f32(3, "lse", rows);
  if (a.ok()) softmaxCrossEntropyForward(logits, targets, loss, lse, rows, vocab);
}

// softmaxCrossEntropyGrad(logits, lse, targets, dloss, dlogits, rows, vocab)
void SoftmaxCrossEntropyGrad(const Napi::CallbackInfo& info) {
  Args a(info, 7, "softmaxCrossEntropyGrad");
  const int64_t rows = a.integer(5, "rows"), vocab = a.integer(6, "vocab");
  const float *logits = a.f32(0, "logits", rows * vocab), *lse = a.f32(1, "lse", rows);
  const int32_t* targets = a.i32(2, "targets", rows);
  const float* dloss = a.f32(3, "dloss", rows);
  float* dlogits = a.f32(4, "dlogits", rows * vocab);
  if (a.ok()) softmaxCrossEntropyBackward(logits, lse, targets, dloss, dlogits, rows, vocab);
}

// adamw(p, m, v, g, pOut, mOut, vOut, beta1, beta2, eps, stepSize, correction2Sqrt, decay): n = p.length
void AdamW(const Napi::CallbackInfo& info) {
  Args a(info, 13, "adamw");
  const AdamWStep step{a.number(7, "beta1"), a.number(8, "beta2"), a.number(9, "eps"), a.number(10, "stepSize"),
                       a.number(11, "correction2Sqrt"), a.number(12, "decay")};
  const int64_t n = a.ok() && info[0].IsTypedArray() ? static_cast<int64_t>(info[0].As<Napi::TypedArray>().ElementLength()) : 0;
  const float *p = a.f32(0, "p", n), *m = a.f32(1, "m", n), *v = a.f32(2, "v", n), *g = a.f32(3, "g", n);
  float *pOut = a.f32(4, "pOut", n), *mOut = a.f32(5, "mOut", n), *vOut = a.f32(6, "vOut", n);
  if (a.ok()) adamwUpdate(p, m, v, g, pOut, mOut, vOut, n, step);
}

// sumSquares(x): Σ x²
Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  Args a(info, 1, "sumSquares");
  const int64_t n = a.ok() && info[0].IsTypedArray() ? static_cast<int64_t>(info[0].As<Napi::TypedArray>().ElementLength()) : 0;
  const float* x = a.f32(0, "x", n);
  return a.ok() ? Napi::Number::New(info.Env(), sumSquares(x, n)) : info.Env().Undefined();
}

}  // namespace

void registerFused(Napi::Env env, Napi::Object exports) {
  exports.Set("rmsNorm", Napi::Function::New(env, RmsNorm, "rmsNorm"));
  exports.Set("rmsNormGrad", Napi::Function::New(env, RmsNormGrad, "rmsNormGrad"));
  exports.Set("swiglu", Napi::Function::New(env, Swiglu, "swiglu"));
  exports.Set("swigluGrad", Napi::Function::New(env, SwigluGrad, "swigluGrad"));
  exports.Set("rotarySplit", Napi::Function::New(env, RotarySplit<false>, "rotarySplit"));
  exports.Set("rotarySplitGrad", Napi::Function::New(env, RotarySplit<true>, "rotarySplitGrad"));
  exports.Set("softmax", Napi::Function::New(env, Softmax, "softmax"));
  exports.Set("softmaxGrad", Napi::Function::New(env, SoftmaxGrad, "softmaxGrad"));
  exports.Set("softmaxCrossEntropy", Napi::Function::New(env, SoftmaxCrossEntropy, "softmaxCrossEntropy"));
  exports.Set("softmaxCrossEntropyGrad", Napi::Function::New(env, SoftmaxCrossEntropyGrad, "softmaxCrossEntropyGrad"));
  exports.Set("adamw", Napi::Function::New(env, AdamW, "adamw"));
  exports.Set("sumSquares", Napi::Function::New(env, SumSquares, "sumSquares"));
}

}  // namespace glmtune
