// AVX-VNNI (256-bit vpdpbusd): a + 128 as unsigned bytes times signed w, four products per lane.
#include <immintrin.h>

#include "worker/kernels/w8a8_dot.h"

namespace quantd::kernels {

int32_t DotShiftedAvxVnni(const int8_t* a, const int8_t* w, int64_t n) {
  __m256i acc = _mm256_setzero_si256();
  const __m256i shift = _mm256_set1_epi8(static_cast<char>(0x80));
  for (int64_t k = 0; k < n; k += 32) {
    const __m256i va = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + k)),
                                        shift);  // a + 128
    const __m256i vw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + k));
    acc = _mm256_dpbusd_avx_epi32(acc, va, vw);
  }
  const __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
  const __m128i s2 = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  return _mm_cvtsi128_si32(_mm_add_epi32(s2, _mm_shuffle_epi32(s2, 0xB1)));
}

}  // namespace quantd::kernels
