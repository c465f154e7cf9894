// AVX-512 VNNI (512-bit vpdpbusd): a + 128 as unsigned bytes times signed w, 64 bytes a step.
#include <immintrin.h>

#include "worker/kernels/w8a8_dot.h"

namespace quantd::kernels {

int32_t DotShiftedAvx512Vnni(const int8_t* a, const int8_t* w, int64_t n) {
  __m512i acc = _mm512_setzero_si512();
  const __m512i shift = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int64_t k = 0; k < n; k += 64) {
    const __m512i va = _mm512_xor_si512(_mm512_loadu_si512(a + k), shift);  // a + 128
    acc = _mm512_dpbusd_epi32(acc, va, _mm512_loadu_si512(w + k));
  }
  return _mm512_reduce_add_epi32(acc);
}

}  // namespace quantd::kernels
