// The lane mask every AVX-512 kernel stores a panel's last, partial 16 outputs with. Include it
// only from a file compiled for AVX-512.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace quantd::kernels {
namespace {

// The first `count` of 16 lanes (all 16 from 16 on).
inline __mmask16 FirstLanes(int64_t count) {
  return count >= 16 ? __mmask16{0xFFFF} : static_cast<__mmask16>((1u << count) - 1);
}

}  // namespace
}  // namespace quantd::kernels
