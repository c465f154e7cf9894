// AVX-VNNI (256-bit vpdpbusd): a + 128 as unsigned bytes times signed w, four products per lane.
#include "worker/kernels/vector_sums.h"
#include "worker/kernels/w8a8_dot.h"

namespace quantd::kernels {

int32_t DotShiftedAvxVnni(const int8_t* a, const int8_t* w, int64_t n) {
  __m256i acc = _mm256_setzero_si256();
  const __m256i shift = _mm256_set1_epi8(static_cast<char>(0x80));
  for (int64_t k = 0; k < n; k += 32) {
    const __m256i va = _mm256_xor_si256(Load256(a + k), shift);  // a + 128
    acc = _mm256_dpbusd_avx_epi32(acc, va, Load256(w + k));
  }
  return HorizontalSum(acc);
}

}  // namespace quantd::kernels
