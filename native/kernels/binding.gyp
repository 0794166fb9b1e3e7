{
  "targets": [
    {
      "target_name": "glmtune_native",
      "sources": ["src/addon.cc", "src/sgemm.cc", "src/dequant.cc", "src/fused.cc", "src/fused_addon.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      # pkg-config fails when libopenblas-dev is missing, which fails the build; the root package lists
      # this one as an optional dependency, so `npm install` goes on and glmtune uses its npm-only path.
      # Reductions (sums, dot products) may be reordered so that they vectorise; NaN and infinity keep their
      # meaning (no -ffinite-math-only); -fopenmp-simd only reads `#pragma omp simd` (no OpenMP runtime).
      "cflags_cc": ["-O3", "-std=c++17", "-fopenmp-simd", "-fno-math-errno", "-fno-trapping-math", "-fassociative-math", "-fno-signed-zeros",
                    "<!@(pkg-config --cflags openblas)"],
      "libraries": ["<!@(pkg-config --libs openblas)"]
    }
  ]
}
