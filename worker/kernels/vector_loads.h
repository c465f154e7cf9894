// Unaligned 256-bit loads for the files compiled for AVX2 or later; include it only from
// those files (its intrinsics need -mavx2). Internal linkage: each file keeps the copy compiled
// for its own instruction set.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace quantd::kernels {

static inline __m256i Load256(const void* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

}  // namespace quantd::kernels
