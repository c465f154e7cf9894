// vpdpbusd on 256-bit vectors in AVX-VNNI's VEX encoding: the dot step of both AVX-VNNI paths
// (W8A8 through UnsignedCodesMac, W4A8 as W4Tiles256's Mac). Include it only from a file
// compiled with -mavxvnni.
#pragma once

#include <immintrin.h>

namespace quantd::kernels {
namespace {

struct AvxVnniDot {
  static __m256i Step(__m256i acc, __m256i u, __m256i s) {
    return _mm256_dpbusd_avx_epi32(acc, u, s);
  }
};

}  // namespace
}  // namespace quantd::kernels
