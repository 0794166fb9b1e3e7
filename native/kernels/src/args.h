// Argument checks shared by the N-API bindings: each reports a TypeError naming the argument and returns false.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace glmtune {

inline bool fail(const Napi::Env& env, const std::string& message) {
  Napi::TypeError::New(env, "glmtune-native: " + message).ThrowAsJavaScriptException();
  return false;
}

template <typename T>
inline bool typedArg(const Napi::CallbackInfo& info, size_t i, napi_typedarray_type type, const char* what,
                     Napi::TypedArrayOf<T>* out) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != type) {
    return fail(info.Env(), std::string(what) + " must be a " +
                                (type == napi_float32_array ? "Float32Array" : "Int32Array"));
  }
  *out = info[i].As<Napi::TypedArrayOf<T>>();
  return true;
}

inline bool intArg(const Napi::CallbackInfo& info, size_t i, const char* what, int64_t min, int64_t* out) {
  if (!info[i].IsNumber()) return fail(info.Env(), std::string(what) + " must be a number");
  const double v = info[i].As<Napi::Number>().DoubleValue();
  if (v != static_cast<double>(static_cast<int64_t>(v)) || v < static_cast<double>(min)) {
    return fail(info.Env(), std::string(what) + " must be an integer >= " + std::to_string(min));
  }
  *out = static_cast<int64_t>(v);
  return true;
}

inline bool shapeArg(const Napi::CallbackInfo& info, size_t i, const char* what, std::vector<int64_t>* out) {
  if (!info[i].IsArray()) return fail(info.Env(), std::string(what) + " must be an array");
  const Napi::Array arr = info[i].As<Napi::Array>();
  out->resize(arr.Length());
  for (uint32_t j = 0; j < arr.Length(); j++) {
    const Napi::Value v = arr.Get(j);
    if (!v.IsNumber() || v.As<Napi::Number>().Int64Value() < 1) {
      return fail(info.Env(), std::string(what) + " must hold integers >= 1");
    }
    (*out)[j] = v.As<Napi::Number>().Int64Value();
  }
  return true;
}

}  // namespace glmtune
